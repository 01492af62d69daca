"""The store: tables and the view, the engine and its transactions, opening a store, migrations."""
