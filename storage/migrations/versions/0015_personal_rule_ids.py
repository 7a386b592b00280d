"""Personal rules keep their id when their group becomes a supergroup (#16).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

``personal_rules.rule_id``: the id a personal rule is matched, subscribed, muted and marked
under, stored instead of derived from (chat, number), so that a migration can move the rule to
the group's new chat id without renaming it anywhere. Filled for old rows with the id they were
derived as until now, ``u<chat>-<number>`` (so nothing stored under it changes); not null and
unique from here on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("personal_rules", sa.Column("rule_id", sa.Text))
    op.execute(
        "UPDATE personal_rules SET rule_id ="
        " 'u' || CAST(chat_id AS TEXT) || '-' || CAST(\"number\" AS TEXT)"
    )
    with op.batch_alter_table("personal_rules") as batch:
        batch.alter_column("rule_id", existing_type=sa.Text, nullable=False)
    op.create_index("ix_personal_rules_rule_id", "personal_rules", ["rule_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_personal_rules_rule_id", table_name="personal_rules")
    with op.batch_alter_table("personal_rules") as batch:
        batch.drop_column("rule_id")
