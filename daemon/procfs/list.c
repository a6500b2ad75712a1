// SPDX-License-Identifier: MIT
/*
 * list.c - the /proc and /sys collectors the main loop starts, in sample order.
 */
#include "procfs.h"

const struct collector_ops *const procfs_collectors[] = {
    &procfs_cpu_ops,	  &procfs_mem_ops, &procfs_cgroup_ops, &procfs_load_ops,
    &procfs_pressure_ops, &procfs_net_ops, &procfs_disk_ops,   NULL,
};
