"""Alembic's script directory for the store's schema (env.py and versions/), shipped with the
package and run by `data.store.migrate`; users need no alembic.ini.

To change the schema, add a revision file to versions/ (the next number, `down_revision` the
current head), mirror the change in `data.store.tables`, and run tests/data.
"""
