#include "CSQLite.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
  int (*open_v2)(const char *, sqlite3 **, int, const char *);
  int (*close_v2)(sqlite3 *);
  const char *(*errmsg)(sqlite3 *);
  const char *(*errstr)(int);
  int (*busy_timeout)(sqlite3 *, int);
  int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
  int (*finalize)(sqlite3_stmt *);
  int (*reset)(sqlite3_stmt *);
  int (*clear_bindings)(sqlite3_stmt *);
  int (*bind_parameter_count)(sqlite3_stmt *);
  int (*bind_null)(sqlite3_stmt *, int);
  int (*bind_int64)(sqlite3_stmt *, int, sqlite3_int64);
  int (*bind_double)(sqlite3_stmt *, int, double);
  int (*bind_text)(sqlite3_stmt *, int, const char *, int, void (*)(void *));
  int (*bind_blob)(sqlite3_stmt *, int, const void *, int, void (*)(void *));
  int (*step)(sqlite3_stmt *);
  int (*column_count)(sqlite3_stmt *);
  const char *(*column_name)(sqlite3_stmt *, int);
  int (*column_type)(sqlite3_stmt *, int);
  sqlite3_int64 (*column_int64)(sqlite3_stmt *, int);
  double (*column_double)(sqlite3_stmt *, int);
  const void *(*column_blob)(sqlite3_stmt *, int);
  const unsigned char *(*column_text)(sqlite3_stmt *, int);
  int (*column_bytes)(sqlite3_stmt *, int);
  int (*changes)(sqlite3 *);
  sqlite3_int64 (*last_insert_rowid)(sqlite3 *);
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded;

static void load(void) {
  static const char *const names[] = {"libsqlite3.so.0", "libsqlite3.so", NULL};
  void *lib = NULL;
  for (int i = 0; names[i] && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    snprintf(load_error, sizeof load_error, "cannot load SQLite (libsqlite3): %s", e ? e : "not found");
    return;
  }
#define SYM(field, name)                                                                 \
  do {                                                                                   \
    *(void **)&api.field = dlsym(lib, name);                                             \
    if (!api.field) {                                                                    \
      snprintf(load_error, sizeof load_error, "libsqlite3 lacks %s (need 3.14 or later)", name); \
      return;                                                                            \
    }                                                                                    \
  } while (0)
  SYM(open_v2, "sqlite3_open_v2");
  SYM(close_v2, "sqlite3_close_v2");
  SYM(errmsg, "sqlite3_errmsg");
  SYM(errstr, "sqlite3_errstr");
  SYM(busy_timeout, "sqlite3_busy_timeout");
  SYM(prepare_v2, "sqlite3_prepare_v2");
  SYM(finalize, "sqlite3_finalize");
  SYM(reset, "sqlite3_reset");
  SYM(clear_bindings, "sqlite3_clear_bindings");
  SYM(bind_parameter_count, "sqlite3_bind_parameter_count");
  SYM(bind_null, "sqlite3_bind_null");
  SYM(bind_int64, "sqlite3_bind_int64");
  SYM(bind_double, "sqlite3_bind_double");
  SYM(bind_text, "sqlite3_bind_text");
  SYM(bind_blob, "sqlite3_bind_blob");
  SYM(step, "sqlite3_step");
  SYM(column_count, "sqlite3_column_count");
  SYM(column_name, "sqlite3_column_name");
  SYM(column_type, "sqlite3_column_type");
  SYM(column_int64, "sqlite3_column_int64");
  SYM(column_double, "sqlite3_column_double");
  SYM(column_blob, "sqlite3_column_blob");
  SYM(column_text, "sqlite3_column_text");
  SYM(column_bytes, "sqlite3_column_bytes");
  SYM(changes, "sqlite3_changes");
  SYM(last_insert_rowid, "sqlite3_last_insert_rowid");
#undef SYM
  loaded = 1;
}

int kc_sqlite_load(char *err, size_t errlen) {
  pthread_once(&once, load);
  if (loaded) return 0;
  if (err && errlen) snprintf(err, errlen, "%s", load_error);
  return -1;
}

int kc_sqlite_open(const char *path, sqlite3 **db, int flags) { return api.open_v2(path, db, flags, NULL); }
int kc_sqlite_close(sqlite3 *db) { return api.close_v2(db); }
const char *kc_sqlite_errmsg(sqlite3 *db) { return api.errmsg(db); }
const char *kc_sqlite_errstr(int code) { return api.errstr(code); }
int kc_sqlite_busy_timeout(sqlite3 *db, int ms) { return api.busy_timeout(db, ms); }
int kc_sqlite_prepare(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail) {
  return api.prepare_v2(db, sql, n, stmt, tail);
}
int kc_sqlite_finalize(sqlite3_stmt *s) { return api.finalize(s); }
int kc_sqlite_reset(sqlite3_stmt *s) { return api.reset(s); }
int kc_sqlite_clear_bindings(sqlite3_stmt *s) { return api.clear_bindings(s); }
int kc_sqlite_bind_parameter_count(sqlite3_stmt *s) { return api.bind_parameter_count(s); }
int kc_sqlite_bind_null(sqlite3_stmt *s, int i) { return api.bind_null(s, i); }
int kc_sqlite_bind_int64(sqlite3_stmt *s, int i, int64_t v) { return api.bind_int64(s, i, v); }
int kc_sqlite_bind_double(sqlite3_stmt *s, int i, double v) { return api.bind_double(s, i, v); }
int kc_sqlite_bind_text(sqlite3_stmt *s, int i, const char *v, int n) {
  return api.bind_text(s, i, v, n, SQLITE_TRANSIENT);
}
int kc_sqlite_bind_blob(sqlite3_stmt *s, int i, const void *v, int n) {
  return api.bind_blob(s, i, v, n, SQLITE_TRANSIENT);
}
int kc_sqlite_step(sqlite3_stmt *s) { return api.step(s); }
int kc_sqlite_column_count(sqlite3_stmt *s) { return api.column_count(s); }
const char *kc_sqlite_column_name(sqlite3_stmt *s, int i) { return api.column_name(s, i); }
int kc_sqlite_column_type(sqlite3_stmt *s, int i) { return api.column_type(s, i); }
int64_t kc_sqlite_column_int64(sqlite3_stmt *s, int i) { return api.column_int64(s, i); }
double kc_sqlite_column_double(sqlite3_stmt *s, int i) { return api.column_double(s, i); }
const void *kc_sqlite_column_blob(sqlite3_stmt *s, int i) { return api.column_blob(s, i); }
const unsigned char *kc_sqlite_column_text(sqlite3_stmt *s, int i) { return api.column_text(s, i); }
int kc_sqlite_column_bytes(sqlite3_stmt *s, int i) { return api.column_bytes(s, i); }
int kc_sqlite_changes(sqlite3 *db) { return api.changes(db); }
int64_t kc_sqlite_last_insert_rowid(sqlite3 *db) { return api.last_insert_rowid(db); }
