#ifndef OFFPEAK_CSQLITESETUP_H
#define OFFPEAK_CSQLITESETUP_H

/// SQLite's process-wide options, set when the program is loaded, before any connection (they
/// cannot be set after SQLite initializes, and sqlite3_config is variadic, so Swift cannot call
/// it): connections without a mutex of their own, since GRDB uses each from one thread at a time,
/// and no memory statistics, which take a global mutex on every allocation.
///
/// SQLite's result code of setting them (SQLITE_OK).
int offpeak_sqlite_options_result(void);

#endif
