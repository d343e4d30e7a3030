"""Console-script faces (trailctl, provider-scan, overlay-check) on module_utils/."""
