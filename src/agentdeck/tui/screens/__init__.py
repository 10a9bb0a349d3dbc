"""The app's screens, one per file: main, zoom, settings, history, run view and quit-confirm."""
