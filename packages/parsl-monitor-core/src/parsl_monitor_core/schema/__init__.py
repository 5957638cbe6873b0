"""The database contract: Parsl's tables, our additions, indexes and versioning (SQLModel)."""

from parsl_monitor_core.schema.errors import ForeignDatabaseError, NewerSchemaError, SchemaError
from parsl_monitor_core.schema.extensions import (
    RUN_ABANDONED,
    TIME_ZONE,
    NodeSample,
    RunEnd,
    SchemaVersion,
    SenderCount,
)
from parsl_monitor_core.schema.indexes import INDEXES
from parsl_monitor_core.schema.tables import (
    PARSL_TABLES,
    Block,
    Node,
    Resource,
    Status,
    Task,
    Try,
    Workflow,
    table_of,
)
from parsl_monitor_core.schema.version import (
    ALL_TABLES,
    SCHEMA_VERSION,
    check_tables,
    create_or_upgrade,
    read_schema_version,
)

__all__ = (
    "ALL_TABLES",
    "INDEXES",
    "PARSL_TABLES",
    "RUN_ABANDONED",
    "SCHEMA_VERSION",
    "TIME_ZONE",
    "Block",
    "ForeignDatabaseError",
    "NewerSchemaError",
    "Node",
    "NodeSample",
    "Resource",
    "RunEnd",
    "SchemaError",
    "SchemaVersion",
    "SenderCount",
    "Status",
    "Task",
    "Try",
    "Workflow",
    "check_tables",
    "create_or_upgrade",
    "read_schema_version",
    "table_of",
)
