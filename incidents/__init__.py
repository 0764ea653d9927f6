"""The crisis domain: incidents, lifecycle, deadlines, comms. No Flask here."""
