"""Notifications: written with each change (events), rendered (templates), delivered (dispatch)."""
