#include "CSQLiteSetup.h"
#include <sqlite3.h>

static int result = -1;

__attribute__((constructor)) static void offpeak_sqlite_set_options(void) {
    result = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (result == SQLITE_OK) result = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int offpeak_sqlite_options_result(void) { return result; }
