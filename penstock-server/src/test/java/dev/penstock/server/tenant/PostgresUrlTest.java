package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * libpq URLs taken apart for pgjdbc: credentials percent-decoded into properties (never into the
 * JDBC URL), defaults filled in, parameters kept, and the password in no description or error.
 */
class PostgresUrlTest {
  @Test
  void aFullUrlIsTakenApart() {
    PostgresUrl url =
        PostgresUrl.parse(
            "postgresql://pen%40stock:p%40ss%2Fw%3Ard+x@db.internal:6543/pen%20db"
                + "?sslmode=require&connect_timeout=3&application_name=gw1");
    assertThat(url.host()).isEqualTo("db.internal");
    assertThat(url.port()).isEqualTo(6543);
    assertThat(url.database()).isEqualTo("pen db");
    assertThat(url.user()).isEqualTo("pen@stock");
    assertThat(url.password()).isNotNull();
    assertThat(url.password().reveal()).isEqualTo("p@ss/w:rd+x");
    assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:6543/pen+db");
    assertThat(url.properties())
        .containsEntry("user", "pen@stock")
        .containsEntry("password", "p@ss/w:rd+x")
        .containsEntry("sslmode", "require")
        .containsEntry("connectTimeout", "3")
        .containsEntry("ApplicationName", "gw1")
        .containsEntry("logServerErrorDetail", "false");
    assertThat(url.describe()).isEqualTo("PostgreSQL db.internal:6543/pen db");
    assertThat(url.toString()).doesNotContain("p@ss").contains("pen@stock:****@");
  }

  @Test
  void defaultsAreLibpqs() {
    PostgresUrl url = PostgresUrl.parse("postgres://ops@10.0.0.5");
    assertThat(url.port()).isEqualTo(5432);
    assertThat(url.database()).isEqualTo("ops");
    assertThat(url.password()).isNull();
    assertThat(url.parameters()).isEmpty();
    assertThat(PostgresUrl.parse("postgresql:///").address()).isEqualTo("localhost:5432/postgres");
    assertThat(PostgresUrl.parse("postgresql://[::1]:5433/x").address()).isEqualTo("[::1]:5433/x");
  }

  @Test
  void credentialsInTheQueryCountAsTheUrls() {
    PostgresUrl url = PostgresUrl.parse("postgresql://h/db?user=u&password=secret-pw");
    assertThat(url.user()).isEqualTo("u");
    assertThat(url.properties()).containsEntry("password", "secret-pw");
    assertThat(url.parameters()).isEqualTo(Map.of());
    assertThat(url.toString() + url.describe()).doesNotContain("secret-pw");
  }

  @Test
  void aBadUrlIsRefusedWithoutQuotingIt() {
    for (String bad :
        new String[] {
          "mysql://u:secret-pw@h/db",
          "postgresql://u:secret-pw@h:port/db",
          "postgresql://u:secret-pw@h:70000/db",
          "postgresql://u:secret-pw%zz@h/db",
          "postgresql://u:secret-pw@h1,h2/db"
        }) {
      assertThatThrownBy(() -> PostgresUrl.parse(bad))
          .as(bad)
          .isInstanceOf(StorageException.class)
          .hasMessageStartingWith("storage.postgres_url is not a usable")
          .hasMessageNotContaining("secret-pw");
    }
  }
}
