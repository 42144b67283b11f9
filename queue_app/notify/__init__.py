"""Patient notifications: the channel adapters live in :mod:`queue_app.notify.channels`."""
