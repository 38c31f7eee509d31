/* CSQLite: the system's SQLite for kcsh's journal, loaded with dlopen on first use.
 *
 * Only `--journal` (and `--show-journal`) need SQLite, so, as with libcurl
 * (CCurl.h), nothing links it: a script that keeps no journal pays nothing
 * at start-up. kc_sqlite_load() opens libsqlite3 once; the wrappers below call
 * through the resolved pointers. The types and constants come from the header
 * of Debian's libsqlite3-dev. */
#ifndef KCSH_CSQLITE_H
#define KCSH_CSQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Opens libsqlite3 once; thread-safe. Returns 0, or -1 with a reason in err. */
int kc_sqlite_load(char *err, size_t errlen);

int kc_sqlite_open(const char *path, sqlite3 **db, int flags);
int kc_sqlite_close(sqlite3 *db);
const char *kc_sqlite_errmsg(sqlite3 *db);
const char *kc_sqlite_errstr(int code);
int kc_sqlite_busy_timeout(sqlite3 *db, int ms);
int kc_sqlite_prepare(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail);
int kc_sqlite_finalize(sqlite3_stmt *stmt);
int kc_sqlite_reset(sqlite3_stmt *stmt);
int kc_sqlite_clear_bindings(sqlite3_stmt *stmt);
int kc_sqlite_bind_parameter_count(sqlite3_stmt *stmt);
int kc_sqlite_bind_null(sqlite3_stmt *stmt, int i);
int kc_sqlite_bind_int64(sqlite3_stmt *stmt, int i, int64_t v);
int kc_sqlite_bind_double(sqlite3_stmt *stmt, int i, double v);
/* Text and blobs are copied (SQLITE_TRANSIENT): the caller's buffer may go. */
int kc_sqlite_bind_text(sqlite3_stmt *stmt, int i, const char *v, int n);
int kc_sqlite_bind_blob(sqlite3_stmt *stmt, int i, const void *v, int n);
int kc_sqlite_step(sqlite3_stmt *stmt);
int kc_sqlite_column_count(sqlite3_stmt *stmt);
const char *kc_sqlite_column_name(sqlite3_stmt *stmt, int i);
int kc_sqlite_column_type(sqlite3_stmt *stmt, int i);
int64_t kc_sqlite_column_int64(sqlite3_stmt *stmt, int i);
double kc_sqlite_column_double(sqlite3_stmt *stmt, int i);
const void *kc_sqlite_column_blob(sqlite3_stmt *stmt, int i);
const unsigned char *kc_sqlite_column_text(sqlite3_stmt *stmt, int i);
int kc_sqlite_column_bytes(sqlite3_stmt *stmt, int i);
int kc_sqlite_changes(sqlite3 *db);
int64_t kc_sqlite_last_insert_rowid(sqlite3 *db);

#endif
