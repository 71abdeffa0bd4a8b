"""The PDF export: settings, rendering, the stored exports."""
