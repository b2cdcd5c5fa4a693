"""The app's screens: the preset picker, the live dashboard, help and error modals."""
