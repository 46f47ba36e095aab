"""The identity the API tests present."""

from tests.tokens import bearer

IDENTITY = bearer("commune_police", "01", "u-17")
