"""vaxres: vaccine slots, reservations and their notifications, from the command line."""

__version__ = "0.1.0"
