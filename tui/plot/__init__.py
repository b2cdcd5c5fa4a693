"""Pictures of series without Textual: cleaning, decimation, ticks and braille charts."""
