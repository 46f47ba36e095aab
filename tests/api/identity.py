"""The identity the API tests present."""

IDENTITY = {"X-Actor-Id": "u-17", "X-Actor-Role": "commune_police", "X-Actor-Unit": "01.004.00127"}
