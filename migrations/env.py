import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                _refuse_broken_references(connection)
                if connection.in_transaction():  # alembic's last read; the pragma needs none
                    connection.commit()
        except BaseException:
            if sqlite and connection.in_transaction():
                connection.rollback()
            raise
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on):
    """Switch SQLite's foreign keys off for the migration, and back on after it.

    Alembic's batch mode rebuilds a table on SQLite (create a copy, copy the rows, DROP
    the original, rename). With foreign keys on, that DROP deletes the table's rows
    first, and every reference to them acts: ON DELETE CASCADE silently deletes the
    children, and other references make the migration fail (the downgrade of
    df90eab5c21b, which rebuilds ``letters`` and ``revisions``, failed so with data
    present; tests/test_migrations.py). SQLite ignores the pragma inside a transaction,
    so it is set on the driver's connection before anything begins.
    """
    value = "ON" if on else "OFF"
    dbapi_connection = connection.connection.dbapi_connection
    dbapi_connection.execute(f"PRAGMA foreign_keys={value}")
    if dbapi_connection.execute("PRAGMA foreign_keys").fetchone()[0] != int(on):
        raise RuntimeError(f"could not set PRAGMA foreign_keys={value} for the migration")


def _refuse_broken_references(connection):
    """With the foreign keys off nothing checked the references: check them all now
    (a migration that leaves a dangling reference fails, naming the rows)."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left references to missing rows: {broken[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
