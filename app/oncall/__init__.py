"""Who is on duty: rotas on the PRC calendar (sla_rules/oncall.yaml)."""
