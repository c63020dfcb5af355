"""slawatch: SLA monitoring and compensation calculator."""
