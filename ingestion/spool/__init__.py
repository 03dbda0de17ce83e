"""The local spool between the request handlers and the destination: append before the 200,
ship sealed segments afterwards, delete them only once the destination confirmed."""

from ingestion.spool.spool import Spool, SpoolLimits
from ingestion.spool.writer import RollPolicy, SegmentWriter

__all__ = ["RollPolicy", "SegmentWriter", "Spool", "SpoolLimits"]
