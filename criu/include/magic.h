/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image magic numbers.  They are facts of CRIU's on-disk format (see
 * Documentation/images.md for where they were looked up).
 */
#ifndef CR_MAGIC_H
#define CR_MAGIC_H

#define IMG_COMMON_MAGIC	0x54564319	/* first word of most images */
#define IMG_SERVICE_MAGIC	0x55105940	/* first word of stats-* */

#define INVENTORY_MAGIC		0x58313116	/* the only one with no set magic */
#define PSTREE_MAGIC		0x50273030
#define CORE_MAGIC		0x55053847
#define IDS_MAGIC		0x54432030
#define MM_MAGIC		0x57492820
#define PAGEMAP_MAGIC		0x56084025
#define SHMEM_PAGEMAP_MAGIC	PAGEMAP_MAGIC
#define FILES_MAGIC		0x56303138
#define FDINFO_MAGIC		0x56213732
#define FS_MAGIC		0x51403912
#define PIPES_DATA_MAGIC	0x56453709
#define FIFO_DATA_MAGIC		0x59333054
#define SECCOMP_MAGIC		0x64413049
#define TIMENS_MAGIC		0x43114433
#define STATS_MAGIC		0x57093306
#define USERNS_MAGIC		0x55474906
#define UTSNS_MAGIC		0x54473203
#define PIDNS_MAGIC		0x61157326
#define GHOST_FILE_MAGIC	0x52583605
#define REMAP_FPATH_MAGIC	0x59133954
#define MEMFD_INODE_MAGIC	0x48453499
#define MNTS_MAGIC		0x55563928
#define NETDEV_MAGIC		0x57373951
#define NETNS_MAGIC		0x55933752
#define FILE_LOCKS_MAGIC	0x54323616
#define TTY_INFO_MAGIC		0x59453036
#define TTY_DATA_MAGIC		0x59413026
#define SK_QUEUES_MAGIC		0x56264026
#define IPC_VAR_MAGIC		0x53115007
#define IPCNS_SHM_MAGIC		0x46283044
#define IPCNS_MSG_MAGIC		0x55453737
#define IPCNS_SEM_MAGIC		0x59573019
#define TCP_STREAM_MAGIC	0x51465506
#define CPUINFO_MAGIC		0x61404013
#define CGROUP_MAGIC		0x59383330

/* inventory.img img_version: "images v1.1" */
#define CRTOOLS_IMAGES_V1_1	2

#endif
