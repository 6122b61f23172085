#!/bin/sh
# Create (once) and migrate (every start) Temporal's two PostgreSQL databases, as Temporal's own
# compose samples do with the admin-tools image's temporal-sql-tool. On a restart the databases
# and the versioned schema exist already: `create` and `setup-schema` then fail and are skipped,
# and `update-schema` (idempotent) brings the schema to this server version.
set -u
SQL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT}"
export SQL_PASSWORD="${POSTGRES_PWD}"
until nc -z -w 5 "${POSTGRES_SEEDS}" "${DB_PORT}"; do echo "waiting for PostgreSQL"; sleep 1; done
for db in temporal temporal_visibility; do
  dir=temporal; [ "$db" = temporal_visibility ] && dir=visibility
  $SQL --db "$db" create 2>/dev/null || echo "database $db exists"
  $SQL --db "$db" setup-schema -v 0.0 2>/dev/null || echo "schema of $db exists"
  $SQL --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned" || exit 1
done
echo "Temporal's PostgreSQL schema is ready"
