/* Drivers: the C code that runs a component (its spec's x-runtime.driver names one). The run
 * issue gives struct driver its methods; until then a component has a spec but cannot run, and
 * `components list --runnable` says so truthfully. */
#ifndef OSIRIS_DRIVER_H
#define OSIRIS_DRIVER_H

struct driver {
    const char *name; /* x-runtime.driver, e.g. "mysql_extractor" */
};

/* The compiled-in driver of that name, or NULL. Static data. */
const struct driver *driver_find(const char *name);

#endif
