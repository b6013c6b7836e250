"""Offline stand-ins for Finnhub and Reddit that speak their real wire protocols on loopback."""
