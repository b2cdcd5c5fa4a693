"""The dashboard's panels. Each one takes a Snapshot (plain tuples) and redraws itself.

No widget here talks to the runner: the dashboard polls, then hands each panel the
latest snapshot. Everything drawn goes through tui.plot.series first, so NaN, inf and empty
series are harmless.
"""

from tui.widgets.data_view import DataViewPanel
from tui.widgets.event_log import EventLog
from tui.widgets.header import RunHeader
from tui.widgets.hparam_panel import HParamPanel
from tui.widgets.main_chart import MainChart
from tui.widgets.metric_row import MetricRow
from tui.widgets.status_panel import StatusPanel

__all__ = [
    "DataViewPanel",
    "EventLog",
    "HParamPanel",
    "MainChart",
    "MetricRow",
    "RunHeader",
    "StatusPanel",
]
