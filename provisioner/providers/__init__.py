"""Mail providers' public settings: relay presets and client settings share them."""
