"""On-duty channels: DingTalk, WeCom and Feishu/Lark robots (one module each, one
``send(ticket)`` signature, one registry), fed by the ticket outbox like every
other sink."""
