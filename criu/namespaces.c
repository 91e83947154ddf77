// SPDX-License-Identifier: GPL-2.0
/* Namespace identity of tasks; recreation lands with user namespaces. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "namespaces.h"
#include "timens.pb-c.h"

struct ns_id {
	u64 ino;
	u32 id;
};

static struct ns_id ns_ids[256];
static int nr_ns_ids;
static u32 next_kobj_id = 1;

u32 new_kobj_id(void)
{
	return next_kobj_id++;
}

static int ns_id_of(pid_t pid, const char *ns, u32 *id, protobuf_c_boolean *has)
{
	char path[64];
	struct stat st;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	if (stat(path, &st)) {
		if (errno == ENOENT) {
			*has = false;
			return 0;
		}
		pr_perror("cannot stat %s", path);
		return -1;
	}
	for (i = 0; i < nr_ns_ids; i++)
		if (ns_ids[i].ino == st.st_ino)
			break;
	if (i == nr_ns_ids) {
		if (nr_ns_ids == (int)ARRAY_SIZE(ns_ids)) {
			pr_err("too many namespaces in the tree\n");
			return -1;
		}
		ns_ids[i].ino = st.st_ino;
		ns_ids[i].id = new_kobj_id();
		nr_ns_ids++;
	}
	*id = ns_ids[i].id;
	*has = true;
	return 0;
}

int dump_task_ns_ids(pid_t pid, TaskKobjIdsEntry *ids)
{
	return ns_id_of(pid, "pid", &ids->pid_ns_id, &ids->has_pid_ns_id) ||
	       ns_id_of(pid, "net", &ids->net_ns_id, &ids->has_net_ns_id) ||
	       ns_id_of(pid, "ipc", &ids->ipc_ns_id, &ids->has_ipc_ns_id) ||
	       ns_id_of(pid, "uts", &ids->uts_ns_id, &ids->has_uts_ns_id) ||
	       ns_id_of(pid, "mnt", &ids->mnt_ns_id, &ids->has_mnt_ns_id) ||
	       ns_id_of(pid, "user", &ids->user_ns_id, &ids->has_user_ns_id) ||
	       ns_id_of(pid, "cgroup", &ids->cgroup_ns_id, &ids->has_cgroup_ns_id) ||
	       ns_id_of(pid, "time", &ids->time_ns_id, &ids->has_time_ns_id) ? -1 : 0;
}

int dump_timens(pid_t pid)
{
	TimensEntry te = TIMENS_ENTRY__INIT;
	Timespec mono = TIMESPEC__INIT, boot = TIMESPEC__INIT;
	char path[64], *buf, *line, *save;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		long long sec;
		long nsec;
		Timespec *t;

		if (sscanf(line, "%31s %lld %ld", name, &sec, &nsec) != 3)
			continue;
		t = !strcmp(name, "monotonic") ? &mono : !strcmp(name, "boottime") ? &boot : NULL;
		if (t) {
			t->tv_sec = sec;
			t->tv_nsec = nsec;
		}
	}
	free(buf);
	te.monotonic = &mono;
	te.boottime = &boot;
	ret = pb_write_image(CR_FD_TIMENS, &te.base, 0);
	return ret;
}
