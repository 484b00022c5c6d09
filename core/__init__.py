"""Cross-cutting pieces every layer may import: settings, records, errors, routes. No SDKs here."""

VERSION = "0.1.0"
