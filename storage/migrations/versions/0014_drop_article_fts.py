"""Drop the full-text index of 0002: every search goes through the word index of 0011 (#15).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

Since #15 no search reads 0002's index (its stemming and stop words could miss what the rule
engine matches), yet its triggers (SQLite) or generated column (PostgreSQL) still cost every
article insert and update. SQLite: the three ``articles_fts_*`` triggers and the
``articles_fts`` table go (its pages join the file's free list, reused by later writes; a
``VACUUM`` returns them to the file system). PostgreSQL: the GIN index and the
``search_vector`` column go (a dropped column is only marked dropped: its bytes leave each row
when the row is next written, or at ``VACUUM FULL``). Articles and the word index are untouched.

Both directions run 0002's own code: upgrade is its downgrade, downgrade its upgrade (which
recreates the index filled from the stored rows). It is imported with ``importlib``, as
``from ... import`` cannot name a module whose name starts with a digit; Alembic loads revision
files without registering them in ``sys.modules``, so this is a second, independent load of
that file, which only defines constants and functions. 0002 itself stays as databases in the
field ran it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _revision_0002() -> ModuleType:
    return importlib.import_module("storage.migrations.versions.0002_search")


def upgrade() -> None:
    # 0002's downgrade is exactly this: SQLite, the three triggers first (a table dropped
    # under them would leave triggers that fail every insert into articles), then the table;
    # PostgreSQL, the GIN index, then the column.
    _revision_0002().downgrade()


def downgrade() -> None:
    # 0002's upgrade: the table, its triggers and a rebuild from the stored rows (SQLite), the
    # generated column computed for every row by the ALTER and its index (PostgreSQL).
    _revision_0002().upgrade()
