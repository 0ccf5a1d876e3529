"""The database: queries, migrations, dropped connections, driver-level SQL."""
