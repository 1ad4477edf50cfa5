-- Give the engine's sequences back the grants they had before 0040.
call crm_sla_migrations.restore_privileges('0040_engine_sequences');
