"""Rows from PostgreSQL's catalog."""

from __future__ import annotations

from pydantic import BaseModel


class NotNullColumn(BaseModel):
    table_oid: int
    column_number: int


class PreparedTypes(BaseModel):
    parameter_types: list[str]
    result_types: list[str]
