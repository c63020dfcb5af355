"""The contract ledger (SEMANTICS §13): late fees, interest, storage overage,
renewal, suspension, data-retention deadlines and notices deemed delivered.
Pure: the same money and time rules as the evaluation."""
from app.ledger.engine import ledger

__all__ = ["ledger"]
