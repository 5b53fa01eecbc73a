package dev.penstock.server.tenant;

import dev.penstock.server.testing.PostgresDatabase;
import org.jspecify.annotations.Nullable;

/** Every test of {@link SqlKeyRepositoryTest}, on PostgreSQL (a database of its own each). */
class PostgresKeyRepositoryTest extends SqlKeyRepositoryTest {
  private @Nullable PostgresDatabase database;

  @Override
  protected Storage openStorage() {
    PostgresDatabase created = PostgresDatabase.create();
    database = created;
    try {
      return created.open();
    } catch (RuntimeException e) {
      created.close();
      throw e;
    }
  }

  @Override
  protected String databaseName(Storage opened) {
    return opened.describe();
  }

  @Override
  protected void cleanUp() {
    if (database != null) {
      database.close();
    }
  }
}
