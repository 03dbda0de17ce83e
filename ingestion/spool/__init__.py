"""The local spool between the request handlers and the destination: accept (append before the
200), ship sealed segments afterwards, delete them only once the destination confirmed."""

from ingestion.spool.intake import Intake, IntakeUnavailable
from ingestion.spool.spool import Spool, SpoolLimits
from ingestion.spool.writer import RollPolicy, SegmentWriter

__all__ = ["Intake", "IntakeUnavailable", "RollPolicy", "SegmentWriter", "Spool", "SpoolLimits"]
