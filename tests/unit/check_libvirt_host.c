/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt host adapter: first its pure helpers (hamon metadata, storage
 * inference, host UUID, state mapping), malformed input first; then the
 * adapter itself, driven by a real qb_loop, against libvirt's in-process
 * test driver (test:///default: no daemon; its events go through the
 * default event loop) and against a libvirt URI that cannot be reached.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "check_common.h"
#include "libvirt_host.h"

#define GUARD_MS 5000u		/* a wait that reaches this is a failure */
#define TEST_TIMEOUT_S 30
#define SHARED "/srv/shared"
#define UNREACHABLE_URI "qemu+unix:///system?socket=/nonexistent"

/* ------------------------------------------------------------------ */
/* XML fixtures */

static char xbuf[16384];

static const char *dom_xml(const char *metadata, const char *devices)
{
	snprintf(xbuf, sizeof(xbuf),
		 "<domain type='kvm'><name>vm</name>"
		 "<uuid>11111111-2222-3333-4444-555555555555</uuid>"
		 "<memory unit='KiB'>65536</memory>%s%s%s"
		 "<os><type arch='x86_64'>hvm</type></os>"
		 "<devices>%s</devices></domain>",
		 metadata ? "<metadata>" : "", metadata ? metadata : "",
		 metadata ? "</metadata>" : "", devices ? devices : "");
	return xbuf;
}

static const char *ha_attrs(const char *attrs)
{
	static char m[1024];

	snprintf(m, sizeof(m), "<hamon:ha xmlns:hamon='" HM_LV_NS "' %s/>", attrs);
	return m;
}

static int parse(const char *xml, const char *shared, struct hm_lv_ha *ha)
{
	memset(ha, 0xa5, sizeof(*ha));	/* nothing may be left unset */
	return hm_lv_ha_parse(xml, strlen(xml), shared, ha);
}

/* ------------------------------------------------------------------ */
/* pure helpers: invalid input first */

START_TEST(test_parse_invalid)
{
	struct hm_lv_ha ha;
	static const char *bad[] = {
		"not xml at all",
		"<domain>",				/* unterminated */
		"<domain><name>x</domain>",		/* mismatched */
		"<foo/>",				/* not a domain */
		"<capabilities/>",
		"<x:domain xmlns:x='urn:other'/>",	/* a domain of another vocabulary */
		"<?xml version='1.0'?>",		/* no root */
		"<domain/><domain/>",			/* two roots */
		"\xff\xfe<domain/>",
	};
	size_t i;

	ck_assert_int_eq(hm_lv_ha_parse(NULL, 10, NULL, &ha), -EINVAL);
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 0, NULL, &ha), -EINVAL);
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 9, NULL, NULL), -EINVAL);
	/* the length is checked before anything is read */
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", HM_LV_XML_MAX + 1u, NULL, &ha), -E2BIG);
	/* the shared path must be absolute and clean */
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 9, "srv/shared", &ha), -EINVAL);
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 9, "/srv/../shared", &ha), -EINVAL);
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 9, "/srv//shared", &ha), -EINVAL);
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 9, "", &ha), -EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], NULL, &ha) == -EINVAL, "accepted: %s", bad[i]);
	/* a length shorter than the string: only that much is XML */
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 5, NULL, &ha), -EINVAL);
	ck_assert_int_eq(hm_lv_ha_parse("<domain/>", 9, NULL, &ha), 0);
}
END_TEST

START_TEST(test_parse_no_entities)
{
	struct hm_lv_ha ha;
	const char *ext =
		"<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>"
		"<domain><metadata><hamon:ha xmlns:hamon='" HM_LV_NS "' policy='ha' "
		"anti-affinity='&x;'/></metadata></domain>";
	const char *ext_content =
		"<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>"
		"<domain><name>&x;</name></domain>";

	/* an external entity in an attribute is not well-formed XML */
	ck_assert_int_eq(parse(ext, NULL, &ha), -EINVAL);
	/* elsewhere it is never loaded (no XML_PARSE_NOENT, no DTD loading) */
	ck_assert_int_eq(parse(ext_content, NULL, &ha), 0);
	ck_assert(!ha.metadata_present);
}
END_TEST

START_TEST(test_parse_no_metadata)
{
	struct hm_lv_ha ha;

	ck_assert_int_eq(parse(dom_xml(NULL, NULL), SHARED, &ha), 0);
	ck_assert(!ha.metadata_present);
	ck_assert_int_eq(ha.policy, HM_LV_POLICY_NONE);
	ck_assert_uint_eq(ha.priority, 0);
	ck_assert_str_eq(ha.anti_affinity, "");
	ck_assert_str_eq(ha.error, "");
	ck_assert_str_eq(ha.warning, "");
	ck_assert(!ha.storage_explicit);
	ck_assert_int_eq(ha.storage, HM_LV_STORAGE_SHARED);	/* no disk at all */
	ck_assert_int_eq(ha.storage_inferred, HM_LV_STORAGE_SHARED);

	/* metadata of other applications only */
	ck_assert_int_eq(parse(dom_xml("<x:ha xmlns:x='urn:other' policy='ha'/>"
				       "<hamon:other xmlns:hamon='" HM_LV_NS "' policy='ha'/>"
				       "<ha policy='ha'/>", NULL), SHARED, &ha), 0);
	ck_assert(!ha.metadata_present);
	ck_assert_int_eq(ha.policy, HM_LV_POLICY_NONE);
	/* the right name in a namespace that is almost ours */
	ck_assert_int_eq(parse(dom_xml("<h:ha xmlns:h='https://hamon.dev/xmlns/ha/2' policy='ha'/>",
				       NULL), SHARED, &ha), 0);
	ck_assert(!ha.metadata_present);
	/* <hamon:ha> outside <metadata> is not metadata */
	ck_assert_int_eq(parse("<domain><hamon:ha xmlns:hamon='" HM_LV_NS "' policy='ha'/></domain>",
			       SHARED, &ha), 0);
	ck_assert(!ha.metadata_present);
}
END_TEST

START_TEST(test_parse_bad_values)
{
	static const char *bad[] = {
		"",					/* policy missing */
		"priority='5'",				/* policy missing */
		"policy='HA'",
		"policy='yes'",
		"policy=''",
		"policy=' ha'",
		"policy='ha' priority='abc'",
		"policy='ha' priority='-1'",
		"policy='ha' priority='1001'",
		"policy='ha' priority=''",
		"policy='ha' priority=' 5'",
		"policy='ha' priority='5 '",
		"policy='ha' priority='12x'",
		"policy='ha' priority='99999'",
		"policy='ha' priority='0x10'",
		"policy='ha' anti-affinity=''",
		"policy='ha' anti-affinity='a b'",
		"policy='ha' anti-affinity='x/y'",
		"policy='ha' anti-affinity='"
		"0123456789012345678901234567890123456789012345678901234567890123'",	/* 64 */
		"policy='ha' storage='nfs'",
		"policy='ha' storage=''",
		"policy='ha' storage='Shared'",
		"policy='ha' storage='local' x:storage='shared' xmlns:x='urn:x'",	/* twice */
		"policy='ha' x:policy='none' xmlns:x='urn:x'",				/* twice */
		"policy='ha&#10;none'",			/* a newline in the value */
	};
	struct hm_lv_ha ha;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(dom_xml(ha_attrs(bad[i]), NULL), SHARED, &ha), 0);
		ck_assert_msg(ha.error[0] != '\0', "accepted: %s", bad[i]);
		ck_assert_msg(strpbrk(ha.error, "\n\r") == NULL, "raw newline in: %s", ha.error);
		ck_assert(ha.metadata_present);
		/* refused metadata protects nothing and sets nothing */
		ck_assert_int_eq(ha.policy, HM_LV_POLICY_NONE);
		ck_assert_uint_eq(ha.priority, 0);
		ck_assert_str_eq(ha.anti_affinity, "");
		ck_assert(!ha.storage_explicit);
		ck_assert_int_eq(ha.storage, ha.storage_inferred);
	}

	/* two <hamon:ha> elements: which one would be meant? */
	ck_assert_int_eq(parse(dom_xml("<hamon:ha xmlns:hamon='" HM_LV_NS "' policy='ha'/>"
				       "<h2:ha xmlns:h2='" HM_LV_NS "' policy='none'/>", NULL),
			       SHARED, &ha), 0);
	ck_assert_str_ne(ha.error, "");
	ck_assert_int_eq(ha.policy, HM_LV_POLICY_NONE);
}
END_TEST

START_TEST(test_parse_good)
{
	struct hm_lv_ha ha;

	ck_assert_int_eq(parse(dom_xml(ha_attrs("policy='ha' priority='1000' anti-affinity='web-1.a_b' "
						"storage='volume'"), NULL), SHARED, &ha), 0);
	ck_assert(ha.metadata_present);
	ck_assert_str_eq(ha.error, "");
	ck_assert_str_eq(ha.warning, "");
	ck_assert_int_eq(ha.policy, HM_LV_POLICY_HA);
	ck_assert_uint_eq(ha.priority, 1000);
	ck_assert_str_eq(ha.anti_affinity, "web-1.a_b");
	ck_assert(ha.storage_explicit);
	ck_assert_int_eq(ha.storage, HM_LV_STORAGE_VOLUME);
	ck_assert_int_eq(ha.storage_inferred, HM_LV_STORAGE_SHARED);

	/* any prefix; policy alone; priority 0 and leading zeros */
	ck_assert_int_eq(parse(dom_xml("<x:ha xmlns:x='" HM_LV_NS "' policy='none' priority='0007'/>",
				       NULL), SHARED, &ha), 0);
	ck_assert_str_eq(ha.error, "");
	ck_assert_int_eq(ha.policy, HM_LV_POLICY_NONE);
	ck_assert_uint_eq(ha.priority, 7);
	ck_assert(!ha.storage_explicit);

	/* the operator's storage= wins over the inference, both are kept */
	ck_assert_int_eq(parse(dom_xml(ha_attrs("policy='ha' storage='shared'"),
				       "<disk type='file' device='disk'><source file='/var/lib/x.img'/></disk>"),
			       SHARED, &ha), 0);
	ck_assert_int_eq(ha.storage, HM_LV_STORAGE_SHARED);
	ck_assert_int_eq(ha.storage_inferred, HM_LV_STORAGE_LOCAL);
	ck_assert(ha.storage_explicit);
	ck_assert_int_eq(parse(dom_xml(ha_attrs("policy='ha' storage='local'"), NULL), SHARED, &ha), 0);
	ck_assert_int_eq(ha.storage, HM_LV_STORAGE_LOCAL);
}
END_TEST

START_TEST(test_parse_unknown_attribute)
{
	struct hm_lv_ha ha;

	/* kept as a warning, so that a newer hamon's attribute does not
	 * unprotect a domain on an older node; a typo shows up in the log */
	ck_assert_int_eq(parse(dom_xml(ha_attrs("policy='ha' priorty='5'"), NULL), SHARED, &ha), 0);
	ck_assert_str_eq(ha.error, "");
	ck_assert_int_eq(ha.policy, HM_LV_POLICY_HA);
	ck_assert_uint_eq(ha.priority, 0);
	ck_assert_ptr_nonnull(strstr(ha.warning, "priorty"));
}
END_TEST

struct disk_case {
	const char *devices;
	const char *shared;
	enum hm_lv_storage want;
};

#define FILE_DISK(p) "<disk type='file' device='disk'><source file='" p "'/><target dev='vda'/></disk>"

START_TEST(test_storage_inference)
{
	static const struct disk_case cases[] = {
		/* files */
		{ FILE_DISK("/srv/shared/vm.qcow2"), SHARED, HM_LV_STORAGE_SHARED },
		{ FILE_DISK("/srv/shared/a/b/vm.qcow2"), SHARED, HM_LV_STORAGE_SHARED },
		{ FILE_DISK("/srv/shared/vm.qcow2"), "/srv/shared/", HM_LV_STORAGE_SHARED },
		{ FILE_DISK("/srv/shared/vm.qcow2"), "/", HM_LV_STORAGE_SHARED },
		{ FILE_DISK("/var/lib/libvirt/images/vm.qcow2"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv/shared2/vm.qcow2"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv/shared"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv/shared/"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv/shared/../etc/vm.img"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv/shared/./vm.img"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv//shared/vm.img"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("vm.img"), SHARED, HM_LV_STORAGE_LOCAL },
		{ FILE_DISK("/srv/shared/vm.qcow2"), NULL, HM_LV_STORAGE_LOCAL },
		/* no type: libvirt's default is a file */
		{ "<disk device='disk'><source file='/srv/shared/vm.img'/></disk>", SHARED,
		  HM_LV_STORAGE_SHARED },
		{ "<disk device='disk'><source file='/tmp/vm.img'/></disk>", SHARED, HM_LV_STORAGE_LOCAL },
		/* directories exposed as disks */
		{ "<disk type='dir' device='disk'><source dir='/srv/shared/d'/></disk>", SHARED,
		  HM_LV_STORAGE_SHARED },
		{ "<disk type='dir' device='disk'><source dir='/home/d'/></disk>", SHARED,
		  HM_LV_STORAGE_LOCAL },
		/* volumes */
		{ "<disk type='block' device='disk'><source dev='/dev/mapper/mpatha'/></disk>", SHARED,
		  HM_LV_STORAGE_VOLUME },
		{ "<disk type='network' device='disk'><source protocol='rbd' name='pool/img'>"
		  "<host name='mon1' port='6789'/></source></disk>", SHARED, HM_LV_STORAGE_VOLUME },
		{ "<disk type='network' device='disk'><source protocol='nbd' name='vm1'>"
		  "<host name='10.0.0.1' port='10809'/></source></disk>", NULL, HM_LV_STORAGE_VOLUME },
		{ "<disk type='network' device='lun'><source protocol='iscsi' "
		  "name='iqn.2013-07.com.example:iscsi-pool/1'/></disk>", SHARED, HM_LV_STORAGE_VOLUME },
		/* this host's own things */
		{ "<disk type='volume' device='disk'><source pool='default' volume='vm.img'/></disk>",
		  SHARED, HM_LV_STORAGE_LOCAL },
		{ "<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='1'>"
		  "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></disk>",
		  SHARED, HM_LV_STORAGE_LOCAL },
		{ "<disk type='vhostuser' device='disk'><source type='unix' path='/tmp/vhost.sock'/></disk>",
		  SHARED, HM_LV_STORAGE_LOCAL },
		{ "<disk type='quantum' device='disk'><source/></disk>", SHARED, HM_LV_STORAGE_LOCAL },
		/* no media: ignored */
		{ "<disk type='file' device='cdrom'><target dev='sda'/></disk>", SHARED,
		  HM_LV_STORAGE_SHARED },
		{ "<disk type='file' device='cdrom'><source/></disk>", SHARED, HM_LV_STORAGE_SHARED },
		{ "<disk type='block' device='cdrom'/>", SHARED, HM_LV_STORAGE_SHARED },
		{ "<disk type='network' device='disk'/>", SHARED, HM_LV_STORAGE_SHARED },
		{ "<disk type='volume' device='disk'/>", SHARED, HM_LV_STORAGE_SHARED },
		/* a CD-ROM with media counts like a disk */
		{ "<disk type='file' device='cdrom'><source file='/iso/x.iso'/></disk>", SHARED,
		  HM_LV_STORAGE_LOCAL },
		/* several disks: the worst one */
		{ FILE_DISK("/srv/shared/a.img")
		  "<disk type='network' device='disk'><source protocol='nbd' name='v'/></disk>", SHARED,
		  HM_LV_STORAGE_VOLUME },
		{ FILE_DISK("/srv/shared/a.img") FILE_DISK("/var/b.img"), SHARED, HM_LV_STORAGE_LOCAL },
		{ "<disk type='block' device='disk'><source dev='/dev/sdb'/></disk>"
		  FILE_DISK("/var/b.img"), SHARED, HM_LV_STORAGE_LOCAL },
		/* backing chains: every layer */
		{ "<disk type='file' device='disk'><source file='/srv/shared/top.qcow2'/>"
		  "<backingStore type='file'><source file='/var/base.qcow2'/><backingStore/></backingStore>"
		  "</disk>", SHARED, HM_LV_STORAGE_LOCAL },
		{ "<disk type='file' device='disk'><source file='/srv/shared/top.qcow2'/>"
		  "<backingStore type='network'><source protocol='nbd' name='b'/></backingStore></disk>",
		  SHARED, HM_LV_STORAGE_VOLUME },
		{ "<disk type='file' device='disk'><source file='/srv/shared/top.qcow2'/>"
		  "<backingStore type='file'><source file='/srv/shared/base.qcow2'/>"
		  "<backingStore/></backingStore></disk>", SHARED, HM_LV_STORAGE_SHARED },
		/* not disks: filesystems, interfaces */
		{ "<filesystem type='mount'><source dir='/home'/><target dir='h'/></filesystem>"
		  "<interface type='network'><source network='default'/></interface>", SHARED,
		  HM_LV_STORAGE_SHARED },
		/* a disk of another vocabulary */
		{ "<x:disk xmlns:x='urn:x' type='file'><source file='/var/x'/></x:disk>", SHARED,
		  HM_LV_STORAGE_SHARED },
	};
	struct hm_lv_ha ha;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(parse(dom_xml(NULL, cases[i].devices), cases[i].shared, &ha), 0);
		ck_assert_msg(ha.storage_inferred == cases[i].want && ha.storage == cases[i].want,
			      "case %zu (%s, shared %s): %s, want %s", i, cases[i].devices,
			      cases[i].shared ? cases[i].shared : "none",
			      hm_lv_storage_to_str(ha.storage_inferred),
			      hm_lv_storage_to_str(cases[i].want));
	}
	/* a domain without <devices> at all */
	ck_assert_int_eq(parse("<domain><name>x</name></domain>", SHARED, &ha), 0);
	ck_assert_int_eq(ha.storage, HM_LV_STORAGE_SHARED);
}
END_TEST

START_TEST(test_host_uuid)
{
	char u[HM_LV_UUID_LEN + 1];
	const char *caps =
		"<capabilities><host><uuid>\n  0A1B2C3D-4e5f-6789-abcd-ef0123456789  </uuid>"
		"<cpu><arch>x86_64</arch></cpu></host></capabilities>";
	const char *sysinfo =
		"<sysinfo type='smbios'><bios><entry name='vendor'>X</entry></bios>"
		"<system><entry name='manufacturer'>Y</entry>"
		"<entry name='uuid'>c0ffee00-1111-2222-3333-444455556666</entry></system></sysinfo>";
	static const char *bad_uuids[] = {
		"1234", "0a1b2c3d4e5f6789abcdef0123456789", "0a1b2c3d-4e5f-6789-abcd-ef012345678g",
		"0a1b2c3d-4e5f-6789-abcd-ef0123456789a", "0a1b2c3d_4e5f-6789-abcd-ef0123456789", "",
	};
	char x[512];
	size_t i;

	/* invalid first */
	ck_assert_int_eq(hm_lv_host_uuid_from_caps(NULL, 3, u), -EINVAL);
	ck_assert_int_eq(hm_lv_host_uuid_from_caps(caps, strlen(caps), NULL), -EINVAL);
	ck_assert_int_eq(hm_lv_host_uuid_from_caps("junk", 4, u), -EINVAL);
	ck_assert_int_eq(hm_lv_host_uuid_from_caps("<domain/>", 9, u), -EINVAL);
	ck_assert_int_eq(hm_lv_host_uuid_from_caps(sysinfo, strlen(sysinfo), u), -EINVAL);
	for (i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++) {
		snprintf(x, sizeof(x), "<capabilities><host><uuid>%s</uuid></host></capabilities>",
			 bad_uuids[i]);
		ck_assert_msg(hm_lv_host_uuid_from_caps(x, strlen(x), u) == -EINVAL, "took %s",
			      bad_uuids[i]);
	}
	/* none */
	snprintf(x, sizeof(x), "<capabilities><host><cpu/></host></capabilities>");
	ck_assert_int_eq(hm_lv_host_uuid_from_caps(x, strlen(x), u), -ENOENT);
	snprintf(x, sizeof(x), "<capabilities/>");
	ck_assert_int_eq(hm_lv_host_uuid_from_caps(x, strlen(x), u), -ENOENT);
	snprintf(x, sizeof(x), "<capabilities><host><uuid>00000000-0000-0000-0000-000000000000"
		 "</uuid></host></capabilities>");
	ck_assert_int_eq(hm_lv_host_uuid_from_caps(x, strlen(x), u), -ENOENT);
	/* the test driver's sysinfo has a BIOS only */
	snprintf(x, sizeof(x), "<sysinfo type='smbios'><bios><entry name='vendor'>LENOVO</entry>"
		 "</bios></sysinfo>");
	ck_assert_int_eq(hm_lv_host_uuid_from_sysinfo(x, strlen(x), u), -ENOENT);
	ck_assert_int_eq(hm_lv_host_uuid_from_sysinfo(caps, strlen(caps), u), -EINVAL);

	ck_assert_int_eq(hm_lv_host_uuid_from_caps(caps, strlen(caps), u), 0);
	ck_assert_str_eq(u, "0a1b2c3d-4e5f-6789-abcd-ef0123456789");
	ck_assert_int_eq(hm_lv_host_uuid_from_sysinfo(sysinfo, strlen(sysinfo), u), 0);
	ck_assert_str_eq(u, "c0ffee00-1111-2222-3333-444455556666");
}
END_TEST

START_TEST(test_state_mapping)
{
	ck_assert_int_eq(hm_lv_dom_state_from_virt(-1), HM_LV_DOM_OTHER);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_PMSUSPENDED + 1), HM_LV_DOM_OTHER);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(1000), HM_LV_DOM_OTHER);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_NOSTATE), HM_LV_DOM_OTHER);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_RUNNING), HM_LV_DOM_RUNNING);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_BLOCKED), HM_LV_DOM_RUNNING);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_SHUTDOWN), HM_LV_DOM_RUNNING);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_PAUSED), HM_LV_DOM_PAUSED);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_PMSUSPENDED), HM_LV_DOM_PAUSED);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_SHUTOFF), HM_LV_DOM_SHUTOFF);
	ck_assert_int_eq(hm_lv_dom_state_from_virt(VIR_DOMAIN_CRASHED), HM_LV_DOM_CRASHED);
}
END_TEST

START_TEST(test_to_str)
{
	ck_assert_str_eq(hm_lv_host_state_to_str(HM_LV_CONNECTED), "connected");
	ck_assert_str_eq(hm_lv_host_state_to_str(HM_LV_UNREACHABLE), "unreachable");
	ck_assert_str_eq(hm_lv_host_state_to_str((enum hm_lv_host_state)77), "unknown");
	ck_assert_str_eq(hm_lv_dom_state_to_str(HM_LV_DOM_RUNNING), "running");
	ck_assert_str_eq(hm_lv_dom_state_to_str(HM_LV_DOM_PAUSED), "paused");
	ck_assert_str_eq(hm_lv_dom_state_to_str(HM_LV_DOM_SHUTOFF), "shutoff");
	ck_assert_str_eq(hm_lv_dom_state_to_str(HM_LV_DOM_CRASHED), "crashed");
	ck_assert_str_eq(hm_lv_dom_state_to_str(HM_LV_DOM_OTHER), "other");
	ck_assert_str_eq(hm_lv_dom_state_to_str((enum hm_lv_dom_state)77), "unknown");
	ck_assert_str_eq(hm_lv_policy_to_str(HM_LV_POLICY_NONE), "none");
	ck_assert_str_eq(hm_lv_policy_to_str(HM_LV_POLICY_HA), "ha");
	ck_assert_str_eq(hm_lv_policy_to_str((enum hm_lv_policy)77), "unknown");
	ck_assert_str_eq(hm_lv_storage_to_str(HM_LV_STORAGE_SHARED), "shared");
	ck_assert_str_eq(hm_lv_storage_to_str(HM_LV_STORAGE_VOLUME), "volume");
	ck_assert_str_eq(hm_lv_storage_to_str(HM_LV_STORAGE_LOCAL), "local");
	ck_assert_str_eq(hm_lv_storage_to_str((enum hm_lv_storage)77), "unknown");
}
END_TEST

/* ------------------------------------------------------------------ */
/* the adapter, on a real qb_loop: a recorder of every callback */

#define MAX_DOMS 16

struct seen_dom {
	char uuid[HM_LV_UUID_LEN + 1];
	char name[64];
	enum hm_lv_dom_state state;
	bool active, persistent, autostart;
	unsigned vcpus;
	uint64_t memory_mib;
	struct hm_lv_ha ha;
	size_t xml_len;
	bool xml_has_ns;
	unsigned updates;
};

struct rec {
	unsigned connected, unreachable, done, gone, domain_msgs;
	enum hm_lv_host_state state;
	struct hm_lv_host_info host;
	struct seen_dom doms[MAX_DOMS];
	size_t ndoms;
	char last_gone[HM_LV_UUID_LEN + 1];
	char order[512];	/* C U D G I, one letter per callback */
	bool wrong_thread;
	bool after_free;
};

static qb_loop_t *loop;
static pthread_t loop_thread;
static struct rec rec;
static bool freed;

static void note(char c)
{
	size_t n = strlen(rec.order);

	if (!pthread_equal(pthread_self(), loop_thread))
		rec.wrong_thread = true;
	if (freed)
		rec.after_free = true;
	if (n + 1 < sizeof(rec.order)) {
		rec.order[n] = c;
		rec.order[n + 1] = '\0';
	}
}

static void cb_host(void *data, enum hm_lv_host_state st, const struct hm_lv_host_info *info)
{
	ck_assert_ptr_eq(data, &rec);
	note(st == HM_LV_CONNECTED ? 'C' : 'U');
	rec.state = st;
	rec.host = *info;
	if (st == HM_LV_CONNECTED)
		rec.connected++;
	else
		rec.unreachable++;
}

static struct seen_dom *find_uuid(const char *uuid)
{
	size_t i;

	for (i = 0; i < rec.ndoms; i++)
		if (strcmp(rec.doms[i].uuid, uuid) == 0)
			return &rec.doms[i];
	return NULL;
}

static struct seen_dom *find_name(const char *name)
{
	size_t i;

	for (i = 0; i < rec.ndoms; i++)
		if (strcmp(rec.doms[i].name, name) == 0)
			return &rec.doms[i];
	return NULL;
}

static void cb_domain(void *data, const struct hm_lv_domain *d)
{
	struct seen_dom *s;

	(void)data;
	note('D');
	rec.domain_msgs++;
	s = find_uuid(d->uuid);
	if (s == NULL) {
		ck_assert_uint_lt(rec.ndoms, MAX_DOMS);
		s = &rec.doms[rec.ndoms++];
	}
	snprintf(s->uuid, sizeof(s->uuid), "%s", d->uuid);
	snprintf(s->name, sizeof(s->name), "%s", d->name);
	s->state = d->state;
	s->active = d->active;
	s->persistent = d->persistent;
	s->autostart = d->autostart;
	s->vcpus = d->vcpus;
	s->memory_mib = d->memory_mib;
	s->ha = d->ha;
	s->xml_len = d->xml_len;
	ck_assert_uint_eq(strlen(d->xml), d->xml_len);
	s->xml_has_ns = strstr(d->xml, HM_LV_NS) != NULL;
	s->updates++;
}

static void cb_gone(void *data, const char *uuid)
{
	struct seen_dom *s = find_uuid(uuid);

	(void)data;
	note('G');
	rec.gone++;
	snprintf(rec.last_gone, sizeof(rec.last_gone), "%s", uuid);
	if (s != NULL)
		*s = rec.doms[--rec.ndoms];
}

static void cb_done(void *data)
{
	(void)data;
	note('I');
	rec.done++;
}

static const struct hm_lv_host_callbacks cbs = {
	.host_state = cb_host,
	.domain = cb_domain,
	.domain_gone = cb_gone,
	.inventory_done = cb_done,
};

static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
	freed = false;
	loop = qb_loop_create();
	ck_assert_ptr_nonnull(loop);
	loop_thread = pthread_self();
}

static void teardown(void)
{
	qb_loop_destroy(loop);
	loop = NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* run the loop until pred() holds or ms have passed; returns pred() */
static bool (*until_pred)(void);
static uint64_t until_deadline;
static qb_loop_timer_handle until_timer;

static void until_tick(void *data)
{
	(void)data;
	if ((until_pred != NULL && until_pred()) || mono_ms() >= until_deadline) {
		qb_loop_stop(loop);
		return;
	}
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, 5 * QB_TIME_NS_IN_MSEC, NULL,
					   until_tick, &until_timer), 0);
}

static bool run_until(bool (*pred)(void), unsigned ms)
{
	until_pred = pred;
	until_deadline = mono_ms() + ms;
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, 1 * QB_TIME_NS_IN_MSEC, NULL,
					   until_tick, &until_timer), 0);
	qb_loop_run(loop);
	return pred != NULL && pred();
}

static bool inventory_done(void) { return rec.done >= 1; }
static bool got_unreachable(void) { return rec.unreachable >= 1; }

/* what a predicate waits for: a domain by name in a state */
static const char *want_name;
static enum hm_lv_dom_state want_state;
static bool want_active, want_persistent;
static char want_gone[HM_LV_UUID_LEN + 1];

static bool dom_is(void)
{
	const struct seen_dom *s = find_name(want_name);

	return s != NULL && s->state == want_state && s->active == want_active &&
	       s->persistent == want_persistent;
}

static bool dom_gone(void)
{
	return strcmp(rec.last_gone, want_gone) == 0 && find_uuid(want_gone) == NULL;
}

static bool wait_dom(const char *name, enum hm_lv_dom_state st, bool active, bool persistent)
{
	want_name = name;
	want_state = st;
	want_active = active;
	want_persistent = persistent;
	return run_until(dom_is, GUARD_MS);
}

static void free_host(struct hm_lv_host *h)
{
	hm_lv_host_free(h);
	freed = true;
	/* nothing may be delivered after free */
	run_until(NULL, 50);
	ck_assert(!rec.after_free);
	ck_assert(!rec.wrong_thread);
}

START_TEST(test_new_invalid)
{
	struct hm_lv_host *h = NULL;
	struct hm_lv_host_callbacks partial = cbs;

	ck_assert_int_eq(hm_lv_host_new(NULL, "test:///default", NULL, &cbs, &rec, &h), -EINVAL);
	ck_assert_int_eq(hm_lv_host_new(loop, NULL, NULL, &cbs, &rec, &h), -EINVAL);
	ck_assert_int_eq(hm_lv_host_new(loop, "", NULL, &cbs, &rec, &h), -EINVAL);
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, NULL, &rec, &h), -EINVAL);
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, &cbs, &rec, NULL), -EINVAL);
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", "relative", &cbs, &rec, &h), -EINVAL);
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", "/a/../b", &cbs, &rec, &h), -EINVAL);
	partial.inventory_done = NULL;
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, &partial, &rec, &h), -EINVAL);
	partial = cbs;
	partial.domain_gone = NULL;
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, &partial, &rec, &h), -EINVAL);
	ck_assert_ptr_null(h);
	hm_lv_host_free(NULL);
	hm_lv_event_loop_release();	/* not acquired: a no-op */
}
END_TEST

START_TEST(test_event_loop_refcount)
{
	virConnectPtr c;
	int id;

	/* nested users; each stop joins the thread, a restart works */
	ck_assert_int_eq(hm_lv_event_loop_acquire(), 0);
	ck_assert_int_eq(hm_lv_event_loop_acquire(), 0);
	hm_lv_event_loop_release();
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(NULL), NULL, NULL);
	ck_assert_int_lt(id, 0);	/* libvirt refuses a NULL callback */
	virConnectClose(c);
	hm_lv_event_loop_release();
	hm_lv_event_loop_release();	/* one too many: a no-op */
	ck_assert_int_eq(hm_lv_event_loop_acquire(), 0);
	hm_lv_event_loop_release();
}
END_TEST

START_TEST(test_connect_inventory)
{
	struct hm_lv_host *h = NULL;
	const struct seen_dom *d;

	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", SHARED, &cbs, &rec, &h), 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(rec.order, "");	/* nothing from inside new() */
	ck_assert(run_until(inventory_done, GUARD_MS));

	ck_assert_uint_eq(rec.connected, 1);
	ck_assert_uint_eq(rec.unreachable, 0);
	ck_assert_int_eq(rec.state, HM_LV_CONNECTED);
	/* the test driver's fixed node: 16 CPUs, 3 GiB; it has no host UUID
	 * (neither in its capabilities nor in its sysinfo) */
	ck_assert_uint_eq(rec.host.cpus, 16);
	ck_assert_uint_eq(rec.host.memory_mib, 3072);
	ck_assert_str_eq(rec.host.uuid, "");
	ck_assert_str_ne(rec.host.hostname, "");
	ck_assert_str_eq(rec.host.reason, "");
	/* host, the domains, inventory_done: in that order */
	ck_assert_int_eq(rec.order[0], 'C');
	ck_assert_int_eq(rec.order[strlen(rec.order) - 1], 'I');
	ck_assert_ptr_null(strchr(rec.order, 'G'));

	/* the driver's default domain */
	d = find_name("test");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->state, HM_LV_DOM_RUNNING);
	ck_assert(d->active);
	ck_assert(d->persistent);
	ck_assert_uint_eq(strlen(d->uuid), HM_LV_UUID_LEN);
	ck_assert_uint_ge(d->vcpus, 1);
	ck_assert_uint_ge(d->memory_mib, 1);
	ck_assert_uint_gt(d->xml_len, 0);
	ck_assert_int_eq(d->ha.policy, HM_LV_POLICY_NONE);
	ck_assert(!d->ha.metadata_present);
	ck_assert_str_eq(d->ha.error, "");
	free_host(h);
}
END_TEST

#define VM_UUID "6b3a1c2e-0f4d-4e7a-9c1b-2d3e4f5a6b7c"
#define VM_XML \
	"<domain type='test'><name>hm-vm1</name><uuid>" VM_UUID "</uuid>" \
	"<memory unit='MiB'>96</memory><vcpu>2</vcpu>" \
	"<metadata><hamon:ha xmlns:hamon='" HM_LV_NS "' policy='ha' priority='7' " \
	"anti-affinity='web'/></metadata>" \
	"<os><type arch='x86_64'>hvm</type></os><devices>" \
	"<disk type='file' device='disk'><source file='/srv/shared/hm-vm1.qcow2'/>" \
	"<target dev='vda' bus='virtio'/></disk></devices></domain>"
#define TRANSIENT_UUID "0c0ffee0-aaaa-4bbb-8ccc-ddddeeeeffff"
#define TRANSIENT_XML \
	"<domain type='test'><name>hm-tr1</name><uuid>" TRANSIENT_UUID "</uuid>" \
	"<memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>"

START_TEST(test_lifecycle)
{
	struct hm_lv_host *h = NULL;
	const struct seen_dom *d;
	virConnectPtr c2;
	virDomainPtr dom, tr;
	unsigned before;

	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", SHARED, &cbs, &rec, &h), 0);
	ck_assert(run_until(inventory_done, GUARD_MS));
	ck_assert_ptr_null(find_name("hm-vm1"));

	/* a second client of the same (per-process) test driver */
	c2 = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c2);

	/* defined: shut off, persistent, protected */
	dom = virDomainDefineXML(c2, VM_XML);
	ck_assert_ptr_nonnull(dom);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_SHUTOFF, false, true));
	d = find_name("hm-vm1");
	ck_assert_str_eq(d->uuid, VM_UUID);
	ck_assert_int_eq(d->ha.policy, HM_LV_POLICY_HA);
	ck_assert(d->ha.metadata_present);
	ck_assert_str_eq(d->ha.error, "");
	ck_assert_uint_eq(d->ha.priority, 7);
	ck_assert_str_eq(d->ha.anti_affinity, "web");
	ck_assert_int_eq(d->ha.storage, HM_LV_STORAGE_SHARED);
	ck_assert(!d->ha.storage_explicit);
	ck_assert_uint_eq(d->vcpus, 2);
	ck_assert_uint_eq(d->memory_mib, 96);
	ck_assert(!d->autostart);
	ck_assert(d->xml_has_ns);	/* the XML carries the metadata along */

	/* started */
	ck_assert_int_eq(virDomainCreate(dom), 0);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_RUNNING, true, true));
	ck_assert_int_eq(find_name("hm-vm1")->ha.policy, HM_LV_POLICY_HA);

	/* paused, resumed */
	ck_assert_int_eq(virDomainSuspend(dom), 0);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_PAUSED, true, true));
	ck_assert_int_eq(virDomainResume(dom), 0);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_RUNNING, true, true));

	/* autostart has no lifecycle event: seen at the next event */
	ck_assert_int_eq(virDomainSetAutostart(dom, 1), 0);

	/* destroyed: shut off, still defined */
	ck_assert_int_eq(virDomainDestroy(dom), 0);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_SHUTOFF, false, true));
	ck_assert(find_name("hm-vm1")->autostart);
	before = rec.gone;

	/* undefined: gone */
	ck_assert_int_eq(virDomainUndefine(dom), 0);
	snprintf(want_gone, sizeof(want_gone), "%s", VM_UUID);
	ck_assert(run_until(dom_gone, GUARD_MS));
	ck_assert_uint_eq(rec.gone, before + 1);
	virDomainFree(dom);

	/* a transient domain: running, not persistent; destroyed: gone */
	tr = virDomainCreateXML(c2, TRANSIENT_XML, 0);
	ck_assert_ptr_nonnull(tr);
	ck_assert(wait_dom("hm-tr1", HM_LV_DOM_RUNNING, true, false));
	ck_assert_int_eq(find_name("hm-tr1")->ha.policy, HM_LV_POLICY_NONE);
	ck_assert_int_eq(virDomainDestroy(tr), 0);
	snprintf(want_gone, sizeof(want_gone), "%s", TRANSIENT_UUID);
	ck_assert(run_until(dom_gone, GUARD_MS));
	virDomainFree(tr);

	/* one connection all along, one inventory */
	ck_assert_uint_eq(rec.connected, 1);
	ck_assert_uint_eq(rec.unreachable, 0);
	ck_assert_uint_eq(rec.done, 1);
	ck_assert_ptr_nonnull(find_name("test"));
	virConnectClose(c2);
	free_host(h);
}
END_TEST

START_TEST(test_two_adapters)
{
	struct hm_lv_host *a = NULL, *b = NULL;

	/* two users of the one event loop thread: the first free must not
	 * stop it under the second */
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, &cbs, &rec, &a), 0);
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, &cbs, &rec, &b), 0);
	ck_assert(run_until(inventory_done, GUARD_MS));
	hm_lv_host_free(a);
	memset(&rec, 0, sizeof(rec));
	{
		virConnectPtr c2 = virConnectOpen("test:///default");
		virDomainPtr tr;

		ck_assert_ptr_nonnull(c2);
		tr = virDomainCreateXML(c2, TRANSIENT_XML, 0);
		ck_assert_ptr_nonnull(tr);
		ck_assert(wait_dom("hm-tr1", HM_LV_DOM_RUNNING, true, false));
		ck_assert_int_eq(virDomainDestroy(tr), 0);
		virDomainFree(tr);
		virConnectClose(c2);
	}
	free_host(b);
}
END_TEST

START_TEST(test_unreachable)
{
	struct hm_lv_host *h = NULL;

	ck_assert_int_eq(hm_lv_host_new(loop, UNREACHABLE_URI, SHARED, &cbs, &rec, &h), 0);
	ck_assert(run_until(got_unreachable, GUARD_MS));
	ck_assert_int_eq(rec.state, HM_LV_UNREACHABLE);
	ck_assert_str_ne(rec.host.reason, "");
	ck_assert_str_eq(rec.host.uuid, "");	/* never connected: nothing known */
	ck_assert_uint_eq(rec.host.cpus, 0);
	/* it keeps retrying (every second) without saying it again, and
	 * never reports a domain, let alone a stopped one */
	run_until(NULL, 1300 + HM_LV_RETRY_MS);
	ck_assert_uint_eq(rec.unreachable, 1);
	ck_assert_uint_eq(rec.connected, 0);
	ck_assert_uint_eq(rec.domain_msgs, 0);
	ck_assert_uint_eq(rec.gone, 0);
	ck_assert_uint_eq(rec.done, 0);
	ck_assert_str_eq(rec.order, "U");
	free_host(h);
}
END_TEST

START_TEST(test_free_at_once)
{
	struct hm_lv_host *h = NULL;

	/* freed before the loop ever ran: what the worker posted is dropped */
	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", NULL, &cbs, &rec, &h), 0);
	free_host(h);
	ck_assert_str_eq(rec.order, "");
	ck_assert_int_eq(hm_lv_host_new(loop, UNREACHABLE_URI, NULL, &cbs, &rec, &h), 0);
	freed = false;
	free_host(h);
	ck_assert_str_eq(rec.order, "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* actions */

#define ACT_TIMEOUT_MS 5000u
#define VM2_UUID "7c4b2d3f-1a5e-4f8b-8d2c-3e4f5a6b7c8d"
#define VM2_XML \
	"<domain type='test'><name>hm-vm2</name><uuid>" VM2_UUID "</uuid>" \
	"<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>"
#define ABSENT_UUID "0badc0de-0000-4000-8000-000000000001"

struct answer {
	unsigned n;
	enum hm_lv_outcome outcome;
	char message[HM_LV_ACTION_MSG_MAX];
	uint64_t at;		/* mono_ms() of the (last) answer */
	unsigned seq;		/* order among all answers */
};

static unsigned answer_seq;

static void on_answer(void *data, enum hm_lv_outcome outcome, const char *message)
{
	struct answer *a = data;

	note('A');
	ck_assert_ptr_nonnull(message);
	ck_assert_uint_lt(strlen(message), HM_LV_ACTION_MSG_MAX);
	ck_assert_msg(strpbrk(message, "\n\r\t") == NULL, "raw control char in: %s", message);
	a->n++;
	a->outcome = outcome;
	snprintf(a->message, sizeof(a->message), "%s", message);
	a->at = mono_ms();
	a->seq = ++answer_seq;
}

static struct answer *want_answer;
static struct answer *want_answers;
static size_t want_count;

static bool answered(void) { return want_answer->n >= 1; }

static bool all_answered(void)
{
	size_t i;

	for (i = 0; i < want_count; i++)
		if (want_answers[i].n == 0)
			return false;
	return true;
}

static bool wait_answer(struct answer *a, unsigned ms)
{
	want_answer = a;
	return run_until(answered, ms);
}

static bool wait_all(struct answer *a, size_t n, unsigned ms)
{
	want_answers = a;
	want_count = n;
	return run_until(all_answered, ms);
}

/* an adapter on the test driver, its inventory read */
static struct hm_lv_host *test_host(void)
{
	struct hm_lv_host *h = NULL;

	ck_assert_int_eq(hm_lv_host_new(loop, "test:///default", SHARED, &cbs, &rec, &h), 0);
	ck_assert(run_until(inventory_done, GUARD_MS));
	return h;
}

/* libvirt's own view, through a connection of the test */
static int presence_of(virConnectPtr c, const char *uuid)
{
	virDomainPtr d = virDomainLookupByUUIDString(c, uuid);
	int active;

	if (d == NULL)
		return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? 0 : -1;
	active = virDomainIsActive(d);
	virDomainFree(d);
	return active == 1 ? 2 : 1;	/* 0 absent, 1 inactive, 2 active */
}

START_TEST(test_action_invalid)
{
	struct hm_lv_host *h = test_host();
	struct answer a = { 0 };
	static const char *bad_uuids[] = {
		"", "6b3a1c2e", "6b3a1c2e-0f4d-4e7a-9c1b-2d3e4f5a6b7", "6b3a1c2e-0f4d-4e7a-9c1b-2d3e4f5a6b7c ",
		" 6b3a1c2e-0f4d-4e7a-9c1b-2d3e4f5a6b7", "6b3a1c2e0f4d-4e7a-9c1b-2d3e4f5a6b7cc",
		"6b3a1c2e-0f4d-4e7a-9c1b-2d3e4f5a6b7g", "00000000-0000-0000-0000-000000000000",
	};
	char *big;
	size_t i;

	ck_assert_int_eq(hm_lv_host_start_domain(NULL, VM_UUID, VM_XML, 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_remove_domain(NULL, VM_UUID, 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_lookup_domain(NULL, VM_UUID, 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, NULL, VM_XML, 100, on_answer, &a), -EINVAL);
	for (i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++) {
		ck_assert_msg(hm_lv_host_start_domain(h, bad_uuids[i], VM_XML, 100, on_answer, &a) ==
			      -EINVAL, "took %s", bad_uuids[i]);
		ck_assert_int_eq(hm_lv_host_remove_domain(h, bad_uuids[i], 100, on_answer, &a), -EINVAL);
		ck_assert_int_eq(hm_lv_host_lookup_domain(h, bad_uuids[i], 100, on_answer, &a), -EINVAL);
	}
	/* the callback and the timeout */
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, 100, NULL, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_remove_domain(h, VM_UUID, 100, NULL, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, 0, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, 0, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, HM_LV_ACTION_TIMEOUT_MAX_MS + 1ull,
						  on_answer, &a), -EINVAL);
	/* the XML: none, not XML, not a domain, without a uuid, another domain's */
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, NULL, 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, "", 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, "not xml", 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, "<network><uuid>" VM_UUID "</uuid></network>",
						 100, on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, "<domain><name>x</name></domain>", 100,
						 on_answer, &a), -EINVAL);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM2_XML, 100, on_answer, &a), -EINVAL);
	big = malloc(HM_LV_XML_MAX + 2u);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', HM_LV_XML_MAX + 1u);
	big[HM_LV_XML_MAX + 1u] = '\0';
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, big, 100, on_answer, &a), -E2BIG);
	free(big);
	/* none of them runs or answers */
	run_until(NULL, 200);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_ptr_null(strchr(rec.order, 'A'));
	/* upper case is the same uuid */
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, "6B3A1C2E-0F4D-4E7A-9C1B-2D3E4F5A6B7C", 100,
						  on_answer, &a), 0);
	ck_assert(wait_answer(&a, GUARD_MS));
	ck_assert_int_eq(a.outcome, HM_LV_DONE);
	ck_assert_str_eq(a.message, "absent");
	free_host(h);
}
END_TEST

START_TEST(test_domain_uuid_of_xml)
{
	char u[HM_LV_UUID_LEN + 1];
	const char *x;

	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(NULL, 3, u), -EINVAL);
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(VM_XML, strlen(VM_XML), NULL), -EINVAL);
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml("junk", 4, u), -EINVAL);
	x = "<domain><uuid>nope</uuid></domain>";
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(x, strlen(x), u), -EINVAL);
	x = "<domain><uuid>00000000-0000-0000-0000-000000000000</uuid></domain>";
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(x, strlen(x), u), -EINVAL);
	x = "<domain><name>x</name></domain>";
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(x, strlen(x), u), -ENOENT);
	x = "<domain><devices><uuid>" VM_UUID "</uuid></devices></domain>";
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(x, strlen(x), u), -ENOENT);
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml("<domain/>", HM_LV_XML_MAX + 1u, u), -E2BIG);
	x = "<domain><uuid> 6B3A1C2E-0F4D-4E7A-9C1B-2D3E4F5A6B7C </uuid></domain>";
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(x, strlen(x), u), 0);
	ck_assert_str_eq(u, VM_UUID);
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(VM_XML, strlen(VM_XML), u), 0);
	ck_assert_str_eq(u, VM_UUID);
	ck_assert_str_eq(hm_lv_outcome_to_str(HM_LV_DONE), "done");
	ck_assert_str_eq(hm_lv_outcome_to_str(HM_LV_FAILED), "failed");
	ck_assert_str_eq(hm_lv_outcome_to_str(HM_LV_UNKNOWN), "unknown");
	ck_assert_str_eq(hm_lv_outcome_to_str((enum hm_lv_outcome)77), "invalid");
}
END_TEST

START_TEST(test_start_absent_then_again)
{
	struct hm_lv_host *h = test_host();
	struct answer a = { 0 }, b = { 0 };
	struct seen_dom *d;
	virConnectPtr c;
	virDomainPtr dom;
	unsigned updates, id;
	uint64_t t0;

	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(presence_of(c, VM_UUID), 0);

	t0 = mono_ms();
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, ACT_TIMEOUT_MS, on_answer, &a), 0);
	ck_assert_uint_eq(a.n, 0);	/* nothing from inside the call */
	ck_assert(wait_answer(&a, GUARD_MS));
	fprintf(stderr, "measured: start on the test driver answered in %llu ms\n",
		(unsigned long long)(a.at - t0));
	ck_assert_int_eq(a.outcome, HM_LV_DONE);
	ck_assert_str_eq(a.message, "started");
	ck_assert_int_eq(presence_of(c, VM_UUID), 2);

	/* the inventory reports it through its lifecycle events: running,
	 * persistent, autostart off, protected */
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_RUNNING, true, true));
	d = find_name("hm-vm1");
	ck_assert(!d->autostart);
	ck_assert_int_eq(d->ha.policy, HM_LV_POLICY_HA);
	dom = virDomainLookupByUUIDString(c, VM_UUID);
	ck_assert_ptr_nonnull(dom);
	id = virDomainGetID(dom);
	run_until(NULL, 100);
	updates = find_name("hm-vm1")->updates;

	/* again: it looks first, and does nothing */
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, ACT_TIMEOUT_MS, on_answer, &b), 0);
	ck_assert(wait_answer(&b, GUARD_MS));
	ck_assert_int_eq(b.outcome, HM_LV_DONE);
	ck_assert_str_eq(b.message, "already running");
	run_until(NULL, 100);
	ck_assert_uint_eq(find_name("hm-vm1")->updates, updates);	/* no event at all */
	ck_assert_uint_eq(virDomainGetID(dom), id);			/* the same run */
	ck_assert_uint_eq(a.n, 1);	/* each answered once */
	ck_assert_uint_eq(b.n, 1);
	virDomainFree(dom);
	virConnectClose(c);
	free_host(h);
}
END_TEST

START_TEST(test_start_over_stale_definition)
{
	struct hm_lv_host *h = test_host();
	struct answer a = { 0 };
	virConnectPtr c;
	virDomainPtr dom;
	int autostart = -1;

	/* a stale definition of the same domain: autostart on, and a
	 * managed-save image (an old memory state) */
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	dom = virDomainDefineXML(c, VM_XML);
	ck_assert_ptr_nonnull(dom);
	ck_assert_int_eq(virDomainCreate(dom), 0);
	ck_assert_int_eq(virDomainManagedSave(dom, 0), 0);
	ck_assert_int_eq(virDomainHasManagedSaveImage(dom, 0), 1);
	ck_assert_int_eq(virDomainSetAutostart(dom, 1), 0);
	ck_assert_int_eq(presence_of(c, VM_UUID), 1);

	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, ACT_TIMEOUT_MS, on_answer, &a), 0);
	ck_assert(wait_answer(&a, GUARD_MS));
	ck_assert_int_eq(a.outcome, HM_LV_DONE);
	ck_assert_str_eq(a.message, "started");
	ck_assert_int_eq(presence_of(c, VM_UUID), 2);
	ck_assert_int_eq(virDomainGetAutostart(dom, &autostart), 0);
	ck_assert_int_eq(autostart, 0);
	ck_assert_int_eq(virDomainHasManagedSaveImage(dom, 0), 0);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_RUNNING, true, true));
	virDomainFree(dom);
	virConnectClose(c);
	free_host(h);
}
END_TEST

START_TEST(test_start_refused)
{
	struct hm_lv_host *h = test_host();
	struct answer a = { 0 }, b = { 0 };
	virConnectPtr c;
	const char *no_os =
		"<domain type='test'><name>hm-bad</name><uuid>" VM2_UUID "</uuid>"
		"<memory unit='MiB'>64</memory></domain>";
	const char *name_taken =
		"<domain type='test'><name>test</name><uuid>" VM2_UUID "</uuid>"
		"<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>";
	const char *bad_memory =
		"<domain type='test'><name>hm-bad</name><uuid>" VM2_UUID "</uuid>"
		"<memory unit='MiB'>lots</memory><os><type arch='x86_64'>hvm</type></os></domain>";

	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);

	/* XML that libvirt refuses: FAILED with its message, nothing left */
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM2_UUID, no_os, ACT_TIMEOUT_MS, on_answer, &a), 0);
	ck_assert(wait_answer(&a, GUARD_MS));
	ck_assert_int_eq(a.outcome, HM_LV_FAILED);
	ck_assert_msg(strstr(a.message, "define: ") == a.message, "%s", a.message);
	ck_assert_msg(strstr(a.message, "os <type>") != NULL, "%s", a.message);
	ck_assert_int_eq(presence_of(c, VM2_UUID), 0);

	ck_assert_int_eq(hm_lv_host_start_domain(h, VM2_UUID, bad_memory, ACT_TIMEOUT_MS, on_answer,
						 &b), 0);
	ck_assert(wait_answer(&b, GUARD_MS));
	ck_assert_int_eq(b.outcome, HM_LV_FAILED);
	ck_assert_msg(strstr(b.message, "memory") != NULL, "%s", b.message);
	ck_assert_int_eq(presence_of(c, VM2_UUID), 0);

	/* a name another domain has: refused, and that domain untouched */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM2_UUID, name_taken, ACT_TIMEOUT_MS, on_answer,
						 &a), 0);
	ck_assert(wait_answer(&a, GUARD_MS));
	ck_assert_int_eq(a.outcome, HM_LV_FAILED);
	ck_assert_msg(strstr(a.message, "already exists") != NULL, "%s", a.message);
	ck_assert_int_eq(presence_of(c, VM2_UUID), 0);

	run_until(NULL, 100);
	ck_assert_ptr_null(find_uuid(VM2_UUID));	/* never reported */
	ck_assert_ptr_nonnull(find_name("test"));
	ck_assert(find_name("test")->active);
	virConnectClose(c);
	free_host(h);
}
END_TEST

START_TEST(test_remove)
{
	struct hm_lv_host *h = test_host();
	struct answer a = { 0 }, b = { 0 }, c_ = { 0 }, d_ = { 0 }, e = { 0 };
	virConnectPtr c;
	virDomainPtr dom, tr;

	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);

	/* absent: nothing to do */
	ck_assert_int_eq(hm_lv_host_remove_domain(h, ABSENT_UUID, ACT_TIMEOUT_MS, on_answer, &a), 0);
	ck_assert(wait_answer(&a, GUARD_MS));
	ck_assert_int_eq(a.outcome, HM_LV_DONE);
	ck_assert_str_eq(a.message, "absent");

	/* running and persistent, autostart on: destroyed, then undefined */
	dom = virDomainDefineXML(c, VM_XML);
	ck_assert_ptr_nonnull(dom);
	ck_assert_int_eq(virDomainSetAutostart(dom, 1), 0);
	ck_assert_int_eq(virDomainCreate(dom), 0);
	ck_assert(wait_dom("hm-vm1", HM_LV_DOM_RUNNING, true, true));
	ck_assert_int_eq(hm_lv_host_remove_domain(h, VM_UUID, ACT_TIMEOUT_MS, on_answer, &b), 0);
	ck_assert(wait_answer(&b, GUARD_MS));
	ck_assert_int_eq(b.outcome, HM_LV_DONE);
	ck_assert_str_eq(b.message, "removed");
	ck_assert_int_eq(presence_of(c, VM_UUID), 0);
	snprintf(want_gone, sizeof(want_gone), "%s", VM_UUID);
	ck_assert(run_until(dom_gone, GUARD_MS));
	virDomainFree(dom);

	/* defined, shut off, with a managed-save image: undefined with it */
	dom = virDomainDefineXML(c, VM2_XML);
	ck_assert_ptr_nonnull(dom);
	ck_assert_int_eq(virDomainCreate(dom), 0);
	ck_assert_int_eq(virDomainManagedSave(dom, 0), 0);
	ck_assert_int_eq(presence_of(c, VM2_UUID), 1);
	ck_assert_int_eq(hm_lv_host_remove_domain(h, VM2_UUID, ACT_TIMEOUT_MS, on_answer, &c_), 0);
	ck_assert(wait_answer(&c_, GUARD_MS));
	ck_assert_int_eq(c_.outcome, HM_LV_DONE);
	ck_assert_str_eq(c_.message, "removed");
	ck_assert_int_eq(presence_of(c, VM2_UUID), 0);
	virDomainFree(dom);

	/* transient and running: destroyed is gone */
	tr = virDomainCreateXML(c, TRANSIENT_XML, 0);
	ck_assert_ptr_nonnull(tr);
	ck_assert_int_eq(hm_lv_host_remove_domain(h, TRANSIENT_UUID, ACT_TIMEOUT_MS, on_answer, &d_), 0);
	ck_assert(wait_answer(&d_, GUARD_MS));
	ck_assert_int_eq(d_.outcome, HM_LV_DONE);
	ck_assert_str_eq(d_.message, "removed");
	ck_assert_int_eq(presence_of(c, TRANSIENT_UUID), 0);
	virDomainFree(tr);

	/* again: idempotent */
	ck_assert_int_eq(hm_lv_host_remove_domain(h, VM_UUID, ACT_TIMEOUT_MS, on_answer, &e), 0);
	ck_assert(wait_answer(&e, GUARD_MS));
	ck_assert_int_eq(e.outcome, HM_LV_DONE);
	ck_assert_str_eq(e.message, "absent");
	ck_assert_ptr_nonnull(find_name("test"));	/* the others untouched */
	virConnectClose(c);
	free_host(h);
}
END_TEST

START_TEST(test_lookup)
{
	struct hm_lv_host *h = test_host();
	struct answer a[3];
	virConnectPtr c;
	virDomainPtr dom;

	memset(a, 0, sizeof(a));
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	dom = virDomainDefineXML(c, VM2_XML);
	ck_assert_ptr_nonnull(dom);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM2_UUID, ACT_TIMEOUT_MS, on_answer, &a[0]), 0);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, ABSENT_UUID, ACT_TIMEOUT_MS, on_answer, &a[1]), 0);
	ck_assert(wait_all(a, 2, GUARD_MS));
	ck_assert_int_eq(virDomainCreate(dom), 0);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM2_UUID, ACT_TIMEOUT_MS, on_answer, &a[2]), 0);
	ck_assert(wait_all(a, 3, GUARD_MS));
	ck_assert_int_eq(a[0].outcome, HM_LV_DONE);
	ck_assert_str_eq(a[0].message, "inactive");
	ck_assert_int_eq(a[1].outcome, HM_LV_DONE);
	ck_assert_str_eq(a[1].message, "absent");
	ck_assert_int_eq(a[2].outcome, HM_LV_DONE);
	ck_assert_str_eq(a[2].message, "active");
	virDomainFree(dom);
	virConnectClose(c);
	free_host(h);
}
END_TEST

#define PAR_N 10

static void par_domain(unsigned i, char uuid[HM_LV_UUID_LEN + 1], char *xml, size_t n)
{
	snprintf(uuid, HM_LV_UUID_LEN + 1, "5ca1ab1e-0000-4000-8000-%012u", i);
	snprintf(xml, n,
		 "<domain type='test'><name>hm-par%u</name><uuid>%s</uuid>"
		 "<memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>",
		 i, uuid);
}

START_TEST(test_concurrent_starts)
{
	struct hm_lv_host *h = test_host();
	struct answer a[PAR_N];
	char uuid[HM_LV_UUID_LEN + 1], xml[512], name[32];
	virConnectPtr c;
	unsigned i;
	uint64_t t0;

	memset(a, 0, sizeof(a));
	t0 = mono_ms();
	for (i = 0; i < PAR_N; i++) {
		par_domain(i, uuid, xml, sizeof(xml));
		ck_assert_int_eq(hm_lv_host_start_domain(h, uuid, xml, ACT_TIMEOUT_MS, on_answer, &a[i]), 0);
	}
	ck_assert(wait_all(a, PAR_N, GUARD_MS));
	fprintf(stderr, "measured: %u starts on the test driver answered in %llu ms\n", PAR_N,
		(unsigned long long)(mono_ms() - t0));
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < PAR_N; i++) {
		ck_assert_int_eq(a[i].outcome, HM_LV_DONE);
		ck_assert_str_eq(a[i].message, "started");
		ck_assert_uint_eq(a[i].n, 1);
		par_domain(i, uuid, xml, sizeof(xml));
		ck_assert_int_eq(presence_of(c, uuid), 2);
		snprintf(name, sizeof(name), "hm-par%u", i);
		ck_assert(wait_dom(name, HM_LV_DOM_RUNNING, true, true));
	}
	virConnectClose(c);
	free_host(h);
}
END_TEST

START_TEST(test_same_domain_in_order)
{
	struct hm_lv_host *h = test_host();
	struct answer a[4];

	/* asked at once: run one after the other, answered in that order */
	memset(a, 0, sizeof(a));
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, ACT_TIMEOUT_MS, on_answer, &a[0]), 0);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, ACT_TIMEOUT_MS, on_answer, &a[1]), 0);
	ck_assert_int_eq(hm_lv_host_remove_domain(h, VM_UUID, ACT_TIMEOUT_MS, on_answer, &a[2]), 0);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, ACT_TIMEOUT_MS, on_answer, &a[3]), 0);
	ck_assert(wait_all(a, 4, GUARD_MS));
	ck_assert_str_eq(a[0].message, "started");
	ck_assert_str_eq(a[1].message, "already running");
	ck_assert_str_eq(a[2].message, "removed");
	ck_assert_str_eq(a[3].message, "absent");
	ck_assert_uint_lt(a[0].seq, a[1].seq);
	ck_assert_uint_lt(a[1].seq, a[2].seq);
	ck_assert_uint_lt(a[2].seq, a[3].seq);
	free_host(h);
}
END_TEST

START_TEST(test_free_with_actions_in_flight)
{
	struct hm_lv_host *h = test_host();
	struct answer a[PAR_N];
	char uuid[HM_LV_UUID_LEN + 1], xml[512];
	unsigned i;
	uint64_t t0;

	memset(a, 0, sizeof(a));
	for (i = 0; i < PAR_N; i++) {
		par_domain(i, uuid, xml, sizeof(xml));
		ck_assert_int_eq(hm_lv_host_start_domain(h, uuid, xml, ACT_TIMEOUT_MS, on_answer, &a[i]), 0);
		ck_assert_int_eq(hm_lv_host_remove_domain(h, uuid, ACT_TIMEOUT_MS, on_answer, &a[i]), 0);
	}
	/* some may run, none is answered: free comes first */
	t0 = mono_ms();
	free_host(h);
	ck_assert_uint_lt(mono_ms() - t0, 1000);
	for (i = 0; i < PAR_N; i++)
		ck_assert_uint_eq(a[i].n, 0);
	ck_assert_uint_eq(hm_lv_threads_lingering(), 0);
}
END_TEST

/* a libvirt "daemon" that accepts connections and never answers: a real
 * unix socket nobody reads (connect succeeds through the backlog) */
static char hung_dir[64];
static char hung_uri[160];
static int hung_fd = -1;

static void hung_open(void)
{
	struct sockaddr_un sa;

	snprintf(hung_dir, sizeof(hung_dir), "/tmp/hm-lvhung.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(hung_dir));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", hung_dir);
	hung_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(hung_fd, 0);
	ck_assert_int_eq(bind(hung_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(hung_fd, 64), 0);
	snprintf(hung_uri, sizeof(hung_uri), "qemu+unix:///system?socket=%s", sa.sun_path);
}

/* connections waiting in the backlog are reset: blocked opens fail */
static void hung_close(void)
{
	char p[128];

	if (hung_fd >= 0)
		close(hung_fd);
	hung_fd = -1;
	snprintf(p, sizeof(p), "%s/sock", hung_dir);
	unlink(p);
	rmdir(hung_dir);
}

static bool none_lingering(void) { return hm_lv_threads_lingering() == 0; }

START_TEST(test_deadline_hung_daemon)
{
	struct hm_lv_host *h = NULL;
	struct answer a[HM_LV_ACTIONS_MAX + 1], late = { 0 };
	char uuid[HM_LV_UUID_LEN + 1], xml[512];
	unsigned i;
	uint64_t t0, t_free;

	hung_open();
	ck_assert_int_eq(hm_lv_host_new(loop, hung_uri, SHARED, &cbs, &rec, &h), 0);
	memset(a, 0, sizeof(a));
	/* one more than there are action threads: that one waits in the
	 * queue, the others wait for the daemon */
	t0 = mono_ms();
	for (i = 0; i <= HM_LV_ACTIONS_MAX; i++) {
		par_domain(i, uuid, xml, sizeof(xml));
		ck_assert_int_eq(hm_lv_host_start_domain(h, uuid, xml, 300, on_answer, &a[i]), 0);
	}
	ck_assert(wait_all(a, HM_LV_ACTIONS_MAX + 1, GUARD_MS));
	for (i = 0; i <= HM_LV_ACTIONS_MAX; i++) {
		fprintf(stderr, "measured: start %u against a hung daemon, timeout 300 ms: UNKNOWN after %llu ms\n",
			i, (unsigned long long)(a[i].at - t0));
		ck_assert_int_eq(a[i].outcome, HM_LV_UNKNOWN);
		ck_assert_uint_eq(a[i].n, 1);
		ck_assert_uint_ge(a[i].at - t0, 300);
		ck_assert_uint_lt(a[i].at - t0, 300 + 250);
		if (i < HM_LV_ACTIONS_MAX)
			ck_assert_msg(strstr(a[i].message, "in progress") != NULL, "%s", a[i].message);
		else
			ck_assert_msg(strstr(a[i].message, "queued") != NULL, "%s", a[i].message);
	}
	/* the loop was never blocked, and the inventory reported nothing */
	ck_assert_uint_eq(rec.connected, 0);
	ck_assert_uint_eq(rec.domain_msgs, 0);

	/* one more, then free while every thread is blocked: bounded, no
	 * answer after it, the blocked threads are left to end by themselves */
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, 60000, on_answer, &late), 0);
	t_free = mono_ms();
	free_host(h);
	t_free = mono_ms() - t_free;
	fprintf(stderr, "measured: free with 5 threads blocked in libvirt took %llu ms, %u lingering\n",
		(unsigned long long)t_free, hm_lv_threads_lingering());
	ck_assert_uint_ge(t_free, HM_LV_FREE_WAIT_MS - 10);
	ck_assert_uint_lt(t_free, HM_LV_FREE_WAIT_MS + 500);
	ck_assert_uint_eq(hm_lv_threads_lingering(), 1 + HM_LV_ACTIONS_MAX);	/* worker + actors */
	ck_assert_uint_eq(late.n, 0);

	/* the "daemon" goes away: the calls fail, the threads end and free
	 * what they held (checked for leaks under valgrind/ASan) */
	hung_close();
	ck_assert(run_until(none_lingering, GUARD_MS));
	ck_assert_uint_eq(late.n, 0);
	ck_assert(!rec.after_free);
}
END_TEST

START_TEST(test_same_domain_waits)
{
	struct hm_lv_host *h = NULL;
	struct answer x1 = { 0 }, x2 = { 0 }, y = { 0 };

	/* X's first action is blocked in libvirt; X's second waits for it in
	 * the queue although threads are free; Y's runs at once */
	hung_open();
	ck_assert_int_eq(hm_lv_host_new(loop, hung_uri, SHARED, &cbs, &rec, &h), 0);
	ck_assert_int_eq(hm_lv_host_start_domain(h, VM_UUID, VM_XML, 300, on_answer, &x1), 0);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, 300, on_answer, &x2), 0);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM2_UUID, 300, on_answer, &y), 0);
	ck_assert(wait_answer(&x1, GUARD_MS));
	ck_assert(wait_answer(&y, GUARD_MS));
	ck_assert_int_eq(x1.outcome, HM_LV_UNKNOWN);
	ck_assert_int_eq(x2.outcome, HM_LV_UNKNOWN);
	ck_assert_int_eq(y.outcome, HM_LV_UNKNOWN);
	ck_assert_msg(strstr(x1.message, "in progress") != NULL, "%s", x1.message);
	ck_assert_msg(strstr(x2.message, "queued") != NULL, "%s", x2.message);
	ck_assert_msg(strstr(y.message, "in progress") != NULL, "%s", y.message);
	hung_close();
	free_host(h);
	ck_assert(run_until(none_lingering, GUARD_MS));
}
END_TEST

START_TEST(test_deadline_late_result_dropped)
{
	struct hm_lv_host *h = NULL;
	struct answer a = { 0 }, b = { 0 };
	uint64_t t0;

	/* the daemon answers nothing for a while, then goes away: the action
	 * was answered UNKNOWN at its deadline; its thread's late result (a
	 * connection failure) is dropped, and the next action runs */
	hung_open();
	ck_assert_int_eq(hm_lv_host_new(loop, hung_uri, SHARED, &cbs, &rec, &h), 0);
	t0 = mono_ms();
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, 200, on_answer, &a), 0);
	ck_assert(wait_answer(&a, GUARD_MS));
	ck_assert_int_eq(a.outcome, HM_LV_UNKNOWN);
	ck_assert_uint_ge(a.at - t0, 200);
	hung_close();
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, 2000, on_answer, &b), 0);
	ck_assert(wait_answer(&b, GUARD_MS));
	/* no daemon at all now: cannot connect, an UNKNOWN of its own */
	ck_assert_int_eq(b.outcome, HM_LV_UNKNOWN);
	ck_assert_msg(strstr(b.message, "cannot connect") != NULL, "%s", b.message);
	run_until(NULL, 200);
	ck_assert_uint_eq(a.n, 1);	/* never a second answer */
	ck_assert_uint_eq(b.n, 1);
	free_host(h);
	ck_assert_uint_eq(hm_lv_threads_lingering(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* live migration (the test driver cannot migrate: its refusal, and the
 * arguments; real migrations in the real_migration tcase) */

struct progress_rec {
	unsigned n;
	struct hm_lv_migrate_progress last;
	uint64_t max_remaining, max_total, max_bps;
	unsigned max_step;
	bool postcopy;
	bool after_answer;
	struct answer *answer;
};

static void on_progress(void *data, const struct hm_lv_migrate_progress *p)
{
	struct progress_rec *r = data;

	note('P');
	if (r->answer != NULL && r->answer->n > 0)
		r->after_answer = true;
	r->n++;
	r->last = *p;
	if (p->data_total > r->max_total)
		r->max_total = p->data_total;
	if (p->memory_bps > r->max_bps)
		r->max_bps = p->memory_bps;
	if (getenv("HM_LV_TEST_VERBOSE") != NULL)
		fprintf(stderr, "  progress: elapsed %llu ms, remaining %llu/%llu, %llu B/s, "
			"dirty %llu p/s, iter %llu, expected downtime %llu, max %llu (step %u), "
			"throttle %d, postcopy %d\n",
			(unsigned long long)p->elapsed_ms, (unsigned long long)p->data_remaining,
			(unsigned long long)p->data_total, (unsigned long long)p->memory_bps,
			(unsigned long long)p->dirty_rate, (unsigned long long)p->iteration,
			(unsigned long long)p->expected_downtime_ms,
			(unsigned long long)p->max_downtime_ms, p->downtime_step,
			p->throttle_percent, p->postcopy);
	if (p->data_remaining > r->max_remaining)
		r->max_remaining = p->data_remaining;
	if (p->downtime_step > r->max_step)
		r->max_step = p->downtime_step;
	r->postcopy = r->postcopy || p->postcopy;
}

/* progress and the answer share one data pointer */
struct mig_rec {
	struct answer a;	/* first: on_answer's data */
	struct progress_rec p;
};

static void on_mig_progress(void *data, const struct hm_lv_migrate_progress *p)
{
	struct mig_rec *m = data;

	m->p.answer = &m->a;
	on_progress(&m->p, p);
}

static const struct hm_lv_migrate_params mig_defaults = {
	.dest_uri = "qemu+tcp://node2/system",
	.timeout_ms = ACT_TIMEOUT_MS,
};

START_TEST(test_migrate_invalid)
{
	struct hm_lv_host *h = test_host();
	struct mig_rec r;
	struct hm_lv_migrate_params p;

	memset(&r, 0, sizeof(r));
#define MIG_EINVAL(mod) do {							\
		p = mig_defaults;						\
		mod;								\
		ck_assert_int_eq(hm_lv_host_migrate_domain(h, VM_UUID, &p, on_mig_progress,	\
							   on_answer, &r), -EINVAL);	\
	} while (0)
	ck_assert_int_eq(hm_lv_host_migrate_domain(h, VM_UUID, NULL, NULL, on_answer, &r), -EINVAL);
	ck_assert_int_eq(hm_lv_host_migrate_domain(NULL, VM_UUID, &mig_defaults, NULL, on_answer, &r),
			 -EINVAL);
	ck_assert_int_eq(hm_lv_host_migrate_domain(h, "nope", &mig_defaults, NULL, on_answer, &r),
			 -EINVAL);
	ck_assert_int_eq(hm_lv_host_migrate_domain(h, VM_UUID, &mig_defaults, NULL, NULL, &r), -EINVAL);
	MIG_EINVAL(p.dest_uri = NULL);
	MIG_EINVAL(p.dest_uri = "");
	MIG_EINVAL(p.migrate_uri = "");
	MIG_EINVAL(p.timeout_ms = 0);
	MIG_EINVAL(p.timeout_ms = HM_LV_ACTION_TIMEOUT_MAX_MS + 1ull);
	MIG_EINVAL(p.auto_converge_initial = 101);
	MIG_EINVAL(p.auto_converge_increment = 1000);
	MIG_EINVAL((p.max_downtime_ms = 500, p.max_downtime_limit_ms = 100));
	MIG_EINVAL(p.progress_interval_ms = HM_LV_MIGRATE_POLL_MIN_MS - 1);
	MIG_EINVAL(p.on_timeout = (enum hm_lv_migrate_fallback)7);
#undef MIG_EINVAL
	run_until(NULL, 100);
	ck_assert_uint_eq(r.a.n, 0);
	ck_assert_uint_eq(r.p.n, 0);
	free_host(h);
}
END_TEST

START_TEST(test_migrate_refused_here)
{
	struct hm_lv_host *h = test_host();
	struct mig_rec r[3];
	struct hm_lv_migrate_params p = mig_defaults;
	const struct seen_dom *test_dom = find_name("test");
	virConnectPtr c;
	virDomainPtr dom;

	memset(r, 0, sizeof(r));
	ck_assert_ptr_nonnull(test_dom);
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	dom = virDomainDefineXML(c, VM2_XML);
	ck_assert_ptr_nonnull(dom);
	/* every control asked for: the test driver refuses p2p for certain,
	 * and the domain still runs here */
	p.unsafe = true;
	p.bandwidth_mibs = 100;
	p.auto_converge = true;
	p.auto_converge_initial = 20;
	p.auto_converge_increment = 10;
	p.max_downtime_ms = 50;
	p.max_downtime_limit_ms = 500;
	p.max_downtime_steps = 3;
	p.completion_timeout_ms = 1000;
	p.on_timeout = HM_LV_MIGRATE_POSTCOPY;
	p.migrate_uri = "tcp://10.0.0.2";
	ck_assert_int_eq(hm_lv_host_migrate_domain(h, test_dom->uuid, &p, on_mig_progress, on_answer,
						   &r[0]), 0);
	/* not running here: nothing to migrate; absent: look elsewhere */
	ck_assert_int_eq(hm_lv_host_migrate_domain(h, VM2_UUID, &p, on_mig_progress, on_answer, &r[1]), 0);
	ck_assert_int_eq(hm_lv_host_migrate_domain(h, ABSENT_UUID, &p, NULL, on_answer, &r[2]), 0);
	ck_assert(wait_answer(&r[0].a, GUARD_MS));
	ck_assert(wait_answer(&r[1].a, GUARD_MS));
	ck_assert(wait_answer(&r[2].a, GUARD_MS));
	ck_assert_int_eq(r[0].a.outcome, HM_LV_FAILED);
	ck_assert_msg(strstr(r[0].a.message, "p2p") != NULL, "%s", r[0].a.message);
	ck_assert_msg(strstr(r[0].a.message, "still running here") != NULL, "%s", r[0].a.message);
	ck_assert_int_eq(r[1].a.outcome, HM_LV_FAILED);
	ck_assert_msg(strstr(r[1].a.message, "not running here") != NULL, "%s", r[1].a.message);
	ck_assert_int_eq(r[2].a.outcome, HM_LV_UNKNOWN);
	ck_assert_msg(strstr(r[2].a.message, "destination") != NULL, "%s", r[2].a.message);
	ck_assert_uint_eq(r[0].p.n, 0);	/* no job ever ran */
	ck_assert(find_name("test")->active);
	virDomainFree(dom);
	virConnectClose(c);
	free_host(h);
}
END_TEST

START_TEST(test_migrations_leave_a_thread)
{
	struct hm_lv_host *h = NULL;
	struct mig_rec m[HM_LV_MIGRATIONS_MAX + 1];
	struct answer look = { 0 }, after = { 0 };
	struct hm_lv_migrate_params p = mig_defaults;
	char uuid[HM_LV_UUID_LEN + 1], xml[512];
	unsigned i;

	/* against a daemon that never answers: one migration more than
	 * allowed waits in the queue, and a lookup still gets a thread */
	memset(m, 0, sizeof(m));
	hung_open();
	ck_assert_int_eq(hm_lv_host_new(loop, hung_uri, SHARED, &cbs, &rec, &h), 0);
	p.timeout_ms = 400;
	for (i = 0; i <= HM_LV_MIGRATIONS_MAX; i++) {
		par_domain(i, uuid, xml, sizeof(xml));
		ck_assert_int_eq(hm_lv_host_migrate_domain(h, uuid, &p, on_mig_progress, on_answer,
							   &m[i]), 0);
	}
	/* the waiting migration's domain: after it, in order, although a
	 * thread is free; another domain's lookup gets that thread */
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, uuid, 400, on_answer, &after), 0);
	ck_assert_int_eq(hm_lv_host_lookup_domain(h, VM_UUID, 400, on_answer, &look), 0);
	ck_assert(wait_answer(&look, GUARD_MS));
	ck_assert(wait_answer(&after, GUARD_MS));
	ck_assert_msg(strstr(after.message, "queued") != NULL, "%s", after.message);
	for (i = 0; i <= HM_LV_MIGRATIONS_MAX; i++)
		ck_assert(wait_answer(&m[i].a, GUARD_MS));
	ck_assert_msg(strstr(look.message, "in progress") != NULL, "%s", look.message);
	for (i = 0; i < HM_LV_MIGRATIONS_MAX; i++) {
		ck_assert_int_eq(m[i].a.outcome, HM_LV_UNKNOWN);
		ck_assert_msg(strstr(m[i].a.message, "in progress") != NULL, "%s", m[i].a.message);
	}
	ck_assert_int_eq(m[HM_LV_MIGRATIONS_MAX].a.outcome, HM_LV_UNKNOWN);
	ck_assert_msg(strstr(m[HM_LV_MIGRATIONS_MAX].a.message, "queued") != NULL, "%s",
		      m[HM_LV_MIGRATIONS_MAX].a.message);
	hung_close();
	free_host(h);
	ck_assert(run_until(none_lingering, GUARD_MS));
}
END_TEST

/* ------------------------------------------------------------------ */
/*
 * Against a real libvirtd with real QEMU guests: opt-in, only when
 * HM_LV_TEST_URI (the daemon) and HM_LV_TEST_XML (':'-separated guest XML
 * files, each its own disk; e.g. made by `hamon-cluster mkvm`) are set.
 * The guests must not run elsewhere on that daemon's storage.
 */

#define REAL_GUARD_MS 30000u
#define REAL_TIMEOUT_MS 30000u
#define REAL_MAX 8
#define BROKEN_UUID "0badc0de-1111-4222-8333-444455556666"

struct real_guest {
	char *xml;
	char uuid[HM_LV_UUID_LEN + 1];
	char name[64];
};

static struct real_guest real[REAL_MAX];
static unsigned n_real;

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* every occurrence of from in s replaced by to (a new string) */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *r, *w;

	for (p = s; (p = strstr(p, from)) != NULL; p += nf)
		n++;
	ck_assert_uint_gt(n, 0);
	r = malloc(strlen(s) + n * nt + 1);
	ck_assert_ptr_nonnull(r);
	for (w = r; (p = strstr(s, from)) != NULL; s = p + nf) {
		memcpy(w, s, (size_t)(p - s));
		w += p - s;
		memcpy(w, to, nt);
		w += nt;
	}
	strcpy(w, s);
	return r;
}

static void real_setup(void)
{
	char *list, *tok, *save = NULL;
	const char *b, *e;

	setup();
	n_real = 0;
	list = strdup(getenv("HM_LV_TEST_XML"));
	ck_assert_ptr_nonnull(list);
	for (tok = strtok_r(list, ":", &save); tok != NULL && n_real < REAL_MAX;
	     tok = strtok_r(NULL, ":", &save)) {
		struct real_guest *g = &real[n_real++];

		g->xml = read_text(tok);
		ck_assert_int_eq(hm_lv_domain_uuid_of_xml(g->xml, strlen(g->xml), g->uuid), 0);
		b = strstr(g->xml, "<name>");
		e = b != NULL ? strstr(b, "</name>") : NULL;
		ck_assert(b != NULL && e != NULL && e - b - 6 < (long)sizeof(g->name));
		snprintf(g->name, sizeof(g->name), "%.*s", (int)(e - b - 6), b + 6);
	}
	free(list);
	ck_assert_uint_ge(n_real, 1);
}

static void real_teardown(void)
{
	unsigned i;

	for (i = 0; i < n_real; i++)
		free(real[i].xml);
	teardown();
}

static struct hm_lv_host *real_host(void)
{
	struct hm_lv_host *h = NULL;

	ck_assert_int_eq(hm_lv_host_new(loop, getenv("HM_LV_TEST_URI"), "/var/lib/hamon-shared",
					&cbs, &rec, &h), 0);
	ck_assert(run_until(inventory_done, REAL_GUARD_MS));
	return h;
}

/* answered, and that answer */
static void real_act(int rc, struct answer *a, enum hm_lv_outcome want, const char *want_msg,
		     const char *what)
{
	uint64_t t0 = mono_ms();

	ck_assert_int_eq(rc, 0);
	ck_assert(wait_answer(a, REAL_GUARD_MS));
	fprintf(stderr, "measured (real libvirtd): %s: %s \"%s\" in %llu ms\n", what,
		hm_lv_outcome_to_str(a->outcome), a->message, (unsigned long long)(a->at - t0));
	ck_assert_msg(a->outcome == want, "%s: %s", what, a->message);
	if (want_msg != NULL)
		ck_assert_msg(strstr(a->message, want_msg) != NULL, "%s: %s", what, a->message);
}

static bool real_gone(void) { return find_uuid(want_gone) == NULL; }

START_TEST(test_real_start_remove)
{
	struct hm_lv_host *h = real_host();
	const struct real_guest *g = &real[0];
	struct answer a;

	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_remove_domain(h, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, NULL, "remove before (cleanup)");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_start_domain(h, g->uuid, g->xml, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "started", "start of an absent guest");
	want_name = g->name;
	want_state = HM_LV_DOM_RUNNING;
	want_active = want_persistent = true;
	ck_assert(run_until(dom_is, REAL_GUARD_MS));
	ck_assert(!find_name(g->name)->autostart);
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_start_domain(h, g->uuid, g->xml, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "already running", "start again");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_lookup_domain(h, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "active", "lookup");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_remove_domain(h, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "removed", "remove of the running guest");
	snprintf(want_gone, sizeof(want_gone), "%s", g->uuid);
	ck_assert(run_until(real_gone, REAL_GUARD_MS));
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_remove_domain(h, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "absent", "remove again");
	free_host(h);
}
END_TEST

START_TEST(test_real_start_refused)
{
	struct hm_lv_host *h = real_host();
	const struct real_guest *g = &real[0];
	char *twin, *twin2, *lost, *lost2, name[96];
	struct answer a;

	/* a second domain on the first one's disk while it runs: QEMU's image
	 * lock refuses the start; the definition the start made goes again */
	twin = replace_all(g->xml, g->uuid, BROKEN_UUID);
	snprintf(name, sizeof(name), "<name>%s</name>", g->name);
	twin2 = replace_all(twin, name, "<name>hm-twin</name>");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_start_domain(h, g->uuid, g->xml, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, NULL, "start of the original");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_start_domain(h, BROKEN_UUID, twin2, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_FAILED, "lock", "start of a twin on the same disk");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_lookup_domain(h, BROKEN_UUID, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "absent", "lookup of the twin");

	/* a disk that does not exist */
	lost = replace_all(twin2, "/var/lib/hamon-shared/", "/var/lib/hamon-shared/nonexistent-");
	lost2 = replace_all(lost, "hm-twin", "hm-lost");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_start_domain(h, BROKEN_UUID, lost2, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_FAILED, "nonexistent-", "start with a missing disk");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_lookup_domain(h, BROKEN_UUID, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "absent", "lookup after it");
	run_until(NULL, 300);
	ck_assert_ptr_null(find_uuid(BROKEN_UUID));

	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_remove_domain(h, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "removed", "remove of the original");
	free(twin);
	free(twin2);
	free(lost);
	free(lost2);
	free_host(h);
}
END_TEST

START_TEST(test_real_concurrent)
{
	struct hm_lv_host *h = real_host();
	struct answer a[REAL_MAX], r[REAL_MAX];
	uint64_t t0;
	unsigned i;

	memset(a, 0, sizeof(a));
	memset(r, 0, sizeof(r));
	t0 = mono_ms();
	for (i = 0; i < n_real; i++)
		ck_assert_int_eq(hm_lv_host_start_domain(h, real[i].uuid, real[i].xml, REAL_TIMEOUT_MS,
							 on_answer, &a[i]), 0);
	ck_assert(wait_all(a, n_real, REAL_GUARD_MS));
	fprintf(stderr, "measured (real libvirtd): %u starts in parallel answered in %llu ms\n",
		n_real, (unsigned long long)(mono_ms() - t0));
	for (i = 0; i < n_real; i++) {
		ck_assert_msg(a[i].outcome == HM_LV_DONE, "%s: %s", real[i].name, a[i].message);
		fprintf(stderr, "  %s: %s after %llu ms\n", real[i].name, a[i].message,
			(unsigned long long)(a[i].at - t0));
	}
	t0 = mono_ms();
	for (i = 0; i < n_real; i++)
		ck_assert_int_eq(hm_lv_host_remove_domain(h, real[i].uuid, REAL_TIMEOUT_MS, on_answer,
							  &r[i]), 0);
	ck_assert(wait_all(r, n_real, REAL_GUARD_MS));
	fprintf(stderr, "measured (real libvirtd): %u removes in parallel answered in %llu ms\n",
		n_real, (unsigned long long)(mono_ms() - t0));
	for (i = 0; i < n_real; i++)
		ck_assert_msg(r[i].outcome == HM_LV_DONE && strcmp(r[i].message, "removed") == 0,
			      "%s: %s", real[i].name, r[i].message);
	free_host(h);
}
END_TEST

START_TEST(test_real_free_in_flight)
{
	struct hm_lv_host *h = real_host();
	struct answer a = { 0 }, b = { 0 };
	uint64_t t0;

	/* freed while QEMU starts: no answer, bounded, nothing lingering; the
	 * start completes or not, and a new adapter finds out by looking */
	ck_assert_int_eq(hm_lv_host_start_domain(h, real[0].uuid, real[0].xml, REAL_TIMEOUT_MS,
						 on_answer, &a), 0);
	run_until(NULL, 20);
	t0 = mono_ms();
	free_host(h);
	fprintf(stderr, "measured (real libvirtd): free with a start in flight took %llu ms\n",
		(unsigned long long)(mono_ms() - t0));
	ck_assert_uint_eq(a.n, 0);
	ck_assert(run_until(none_lingering, REAL_GUARD_MS));
	freed = false;
	memset(&rec, 0, sizeof(rec));
	h = real_host();
	real_act(hm_lv_host_remove_domain(h, real[0].uuid, REAL_TIMEOUT_MS, on_answer, &b), &b,
		 HM_LV_DONE, NULL, "remove after the free");
	free_host(h);
}
END_TEST

/*
 * Real live migrations between two libvirtds (opt-in, with the variables
 * above and HM_LV_TEST_URI2: the second daemon; HM_LV_TEST_DCONN: the
 * second as the first daemon reaches it, HM_LV_TEST_DCONN_BACK: the
 * reverse; HM_LV_TEST_BUSY_XML: a guest that keeps its memory dirty, e.g.
 * `hamon-cluster mkvm NAME --dirty 48`).  Both daemons see the guests'
 * disks at the same path on a plain directory: VIR_MIGRATE_UNSAFE.
 */

static struct real_guest busy;

static void mig_setup(void)
{
	const char *b, *e;

	real_setup();
	busy.xml = read_text(getenv("HM_LV_TEST_BUSY_XML"));
	ck_assert_int_eq(hm_lv_domain_uuid_of_xml(busy.xml, strlen(busy.xml), busy.uuid), 0);
	b = strstr(busy.xml, "<name>");
	e = b != NULL ? strstr(b, "</name>") : NULL;
	ck_assert(b != NULL && e != NULL && e - b - 6 < (long)sizeof(busy.name));
	snprintf(busy.name, sizeof(busy.name), "%.*s", (int)(e - b - 6), b + 6);
}

static void mig_teardown(void)
{
	free(busy.xml);
	real_teardown();
}

static struct hm_lv_host *host_at(const char *uri)
{
	struct hm_lv_host *h = NULL;

	ck_assert_int_eq(hm_lv_host_new(loop, uri, "/var/lib/hamon-shared", &cbs, &rec, &h), 0);
	return h;
}

/* where the domain is, through an action */
static void expect_presence(struct hm_lv_host *h, const char *uuid, const char *want, const char *what)
{
	struct answer a = { 0 };

	real_act(hm_lv_host_lookup_domain(h, uuid, REAL_TIMEOUT_MS, on_answer, &a), &a, HM_LV_DONE,
		 want, what);
	ck_assert_str_eq(a.message, want);
}

/* absent from both, then running on src */
static void place(struct hm_lv_host *src, struct hm_lv_host *other, const struct real_guest *g)
{
	struct answer a;

	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_remove_domain(other, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, NULL, "remove on the other host");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_remove_domain(src, g->uuid, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, NULL, "remove on the source");
	memset(&a, 0, sizeof(a));
	real_act(hm_lv_host_start_domain(src, g->uuid, g->xml, REAL_TIMEOUT_MS, on_answer, &a), &a,
		 HM_LV_DONE, "started", "start on the source");
}

static void print_progress(const char *what, const struct progress_rec *p)
{
	fprintf(stderr, "measured (real migration): %s: %u progress reports; last: elapsed %llu ms, "
		"remaining %llu of %llu bytes, %llu bytes/s, dirty %llu pages/s, iteration %llu, "
		"expected downtime %llu ms, max downtime %llu ms (step %u), throttle %d %%%s\n",
		what, p->n, (unsigned long long)p->last.elapsed_ms,
		(unsigned long long)p->last.data_remaining, (unsigned long long)p->last.data_total,
		(unsigned long long)p->last.memory_bps, (unsigned long long)p->last.dirty_rate,
		(unsigned long long)p->last.iteration,
		(unsigned long long)p->last.expected_downtime_ms,
		(unsigned long long)p->last.max_downtime_ms, p->last.downtime_step,
		p->last.throttle_percent, p->postcopy ? ", post-copy" : "");
}

START_TEST(test_real_migrate_there_and_back)
{
	struct hm_lv_host *a = host_at(getenv("HM_LV_TEST_URI")), *b = host_at(getenv("HM_LV_TEST_URI2"));
	const struct real_guest *g = &real[0];
	struct hm_lv_migrate_params p = { 0 };
	struct mig_rec r;

	place(a, b, g);
	p.unsafe = true;
	p.max_downtime_ms = 50;
	p.progress_interval_ms = 100;
	p.timeout_ms = REAL_TIMEOUT_MS;

	p.dest_uri = getenv("HM_LV_TEST_DCONN");
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_migrate_domain(a, g->uuid, &p, on_mig_progress, on_answer, &r), &r.a,
		 HM_LV_DONE, "migrated in ", "live migration there");
	print_progress("there", &r.p);
	ck_assert(!r.p.after_answer);
	expect_presence(a, g->uuid, "absent", "lookup on the source (undefined)");
	expect_presence(b, g->uuid, "active", "lookup on the destination");

	p.dest_uri = getenv("HM_LV_TEST_DCONN_BACK");
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_migrate_domain(b, g->uuid, &p, on_mig_progress, on_answer, &r), &r.a,
		 HM_LV_DONE, "migrated in ", "live migration back");
	expect_presence(b, g->uuid, "absent", "lookup on the second host");
	expect_presence(a, g->uuid, "active", "lookup on the first host");

	/* a retry of the first one: not here any more, look there */
	p.dest_uri = getenv("HM_LV_TEST_DCONN_BACK");
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_migrate_domain(b, g->uuid, &p, NULL, on_answer, &r), &r.a,
		 HM_LV_UNKNOWN, "destination", "migration of a domain not here");

	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_remove_domain(a, g->uuid, REAL_TIMEOUT_MS, on_answer, &r.a), &r.a,
		 HM_LV_DONE, "removed", "remove");
	free_host(a);
	free_host(b);
}
END_TEST

START_TEST(test_real_migrate_stalls_then_aborts)
{
	struct hm_lv_host *a = host_at(getenv("HM_LV_TEST_URI")), *b = host_at(getenv("HM_LV_TEST_URI2"));
	struct hm_lv_migrate_params p = { 0 };
	struct mig_rec r;

	/* a guest that dirties its memory faster than 32 MiB/s can carry:
	 * after the first pass (2 s) QEMU expects more downtime than allowed,
	 * the max downtime goes up in two steps, and at the completion
	 * timeout the job is aborted */
	place(a, b, &busy);
	run_until(NULL, 1500);	/* the guest's dirtying loop is running */
	p.dest_uri = getenv("HM_LV_TEST_DCONN");
	p.unsafe = true;
	p.bandwidth_mibs = 32;
	p.max_downtime_ms = 20;
	p.max_downtime_limit_ms = 200;
	p.max_downtime_steps = 2;
	p.stall_ms = 800;
	p.completion_timeout_ms = 6000;
	p.on_timeout = HM_LV_MIGRATE_ABORT;
	p.progress_interval_ms = 200;
	p.timeout_ms = REAL_TIMEOUT_MS;
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_migrate_domain(a, busy.uuid, &p, on_mig_progress, on_answer, &r), &r.a,
		 HM_LV_FAILED, "aborted at the completion timeout", "migration of a busy guest, abort");
	print_progress("abort", &r.p);
	ck_assert_msg(strstr(r.a.message, "still running here") != NULL, "%s", r.a.message);
	ck_assert_uint_ge(r.p.n, 10);
	ck_assert_uint_eq(r.p.max_step, 2);
	ck_assert_uint_eq(r.p.last.max_downtime_ms, 200);
	ck_assert_uint_gt(r.p.max_total, 0);
	ck_assert_uint_gt(r.p.max_remaining, 0);
	ck_assert_uint_gt(r.p.max_bps, 0);
	ck_assert_uint_le(r.p.max_bps, 36u * 1024u * 1024u);	/* the cap holds */
	ck_assert(!r.p.postcopy);
	expect_presence(a, busy.uuid, "active", "lookup on the source");
	expect_presence(b, busy.uuid, "absent", "lookup on the destination");
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_remove_domain(a, busy.uuid, REAL_TIMEOUT_MS, on_answer, &r.a), &r.a,
		 HM_LV_DONE, "removed", "remove");
	free_host(a);
	free_host(b);
}
END_TEST

START_TEST(test_real_migrate_postcopy)
{
	struct hm_lv_host *a = host_at(getenv("HM_LV_TEST_URI")), *b = host_at(getenv("HM_LV_TEST_URI2"));
	struct hm_lv_migrate_params p = { 0 };
	struct mig_rec r;

	/* the same guest, switched to post-copy at the completion timeout:
	 * it completes */
	place(a, b, &busy);
	run_until(NULL, 1500);
	p.dest_uri = getenv("HM_LV_TEST_DCONN");
	p.unsafe = true;
	p.bandwidth_mibs = 100;
	p.max_downtime_ms = 20;
	p.completion_timeout_ms = 2000;
	p.on_timeout = HM_LV_MIGRATE_POSTCOPY;
	p.progress_interval_ms = 100;
	p.timeout_ms = REAL_TIMEOUT_MS;
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_migrate_domain(a, busy.uuid, &p, on_mig_progress, on_answer, &r), &r.a,
		 HM_LV_DONE, "post-copy", "migration of a busy guest, post-copy");
	print_progress("post-copy", &r.p);
	expect_presence(a, busy.uuid, "absent", "lookup on the source");
	expect_presence(b, busy.uuid, "active", "lookup on the destination");
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_remove_domain(b, busy.uuid, REAL_TIMEOUT_MS, on_answer, &r.a), &r.a,
		 HM_LV_DONE, "removed", "remove");
	free_host(a);
	free_host(b);
}
END_TEST

START_TEST(test_real_migrate_free_aborts)
{
	struct hm_lv_host *a = host_at(getenv("HM_LV_TEST_URI")), *b = host_at(getenv("HM_LV_TEST_URI2"));
	struct hm_lv_migrate_params p = { 0 };
	struct mig_rec r;
	uint64_t t0;
	unsigned progress;

	/* freed in mid-migration: no answer, and the job is aborted (its
	 * controller is gone): the guest stays on the source */
	place(a, b, &busy);
	p.dest_uri = getenv("HM_LV_TEST_DCONN");
	p.unsafe = true;
	p.bandwidth_mibs = 8;
	p.progress_interval_ms = 200;
	p.timeout_ms = REAL_TIMEOUT_MS;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(hm_lv_host_migrate_domain(a, busy.uuid, &p, on_mig_progress, on_answer, &r), 0);
	want_answer = &r.a;
	run_until(NULL, 1500);
	ck_assert_uint_gt(r.p.n, 0);	/* it runs */
	t0 = mono_ms();
	hm_lv_host_free(a);	/* b still reports: free_host() would count those */
	fprintf(stderr, "measured (real migration): free in mid-migration took %llu ms\n",
		(unsigned long long)(mono_ms() - t0));
	progress = r.p.n;
	ck_assert(run_until(none_lingering, REAL_GUARD_MS));
	run_until(NULL, 300);
	ck_assert_uint_eq(r.a.n, 0);		/* never answered */
	ck_assert_uint_eq(r.p.n, progress);	/* no progress after the free */
	a = host_at(getenv("HM_LV_TEST_URI"));
	expect_presence(a, busy.uuid, "active", "lookup on the source after the free");
	expect_presence(b, busy.uuid, "absent", "lookup on the destination after the free");
	memset(&r, 0, sizeof(r));
	real_act(hm_lv_host_remove_domain(a, busy.uuid, REAL_TIMEOUT_MS, on_answer, &r.a), &r.a,
		 HM_LV_DONE, "removed", "remove");
	free_host(a);
	free_host(b);
}
END_TEST

static Suite *libvirt_host_suite(void)
{
	Suite *s = suite_create("libvirt_host");
	TCase *tc;

	add_tcase(s, test_parse_invalid);
	add_tcase(s, test_parse_no_entities);
	add_tcase(s, test_parse_no_metadata);
	add_tcase(s, test_parse_bad_values);
	add_tcase(s, test_parse_good);
	add_tcase(s, test_parse_unknown_attribute);
	add_tcase(s, test_storage_inference);
	add_tcase(s, test_host_uuid);
	add_tcase(s, test_state_mapping);
	add_tcase(s, test_to_str);
	add_tcase(s, test_domain_uuid_of_xml);

	tc = tcase_create("adapter");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_test(tc, test_new_invalid);
	tcase_add_test(tc, test_event_loop_refcount);
	tcase_add_test(tc, test_connect_inventory);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_two_adapters);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_free_at_once);
	tcase_add_test(tc, test_action_invalid);
	tcase_add_test(tc, test_start_absent_then_again);
	tcase_add_test(tc, test_start_over_stale_definition);
	tcase_add_test(tc, test_start_refused);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_concurrent_starts);
	tcase_add_test(tc, test_same_domain_in_order);
	tcase_add_test(tc, test_free_with_actions_in_flight);
	tcase_add_test(tc, test_deadline_hung_daemon);
	tcase_add_test(tc, test_same_domain_waits);
	tcase_add_test(tc, test_deadline_late_result_dropped);
	tcase_add_test(tc, test_migrate_invalid);
	tcase_add_test(tc, test_migrate_refused_here);
	tcase_add_test(tc, test_migrations_leave_a_thread);
	suite_add_tcase(s, tc);

	if (getenv("HM_LV_TEST_URI") != NULL && getenv("HM_LV_TEST_XML") != NULL) {
		tc = tcase_create("real_libvirtd");
		tcase_add_checked_fixture(tc, real_setup, real_teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_real_start_remove);
		tcase_add_test(tc, test_real_start_refused);
		tcase_add_test(tc, test_real_concurrent);
		tcase_add_test(tc, test_real_free_in_flight);
		suite_add_tcase(s, tc);
	}
	if (getenv("HM_LV_TEST_URI") != NULL && getenv("HM_LV_TEST_XML") != NULL &&
	    getenv("HM_LV_TEST_URI2") != NULL && getenv("HM_LV_TEST_DCONN") != NULL &&
	    getenv("HM_LV_TEST_DCONN_BACK") != NULL && getenv("HM_LV_TEST_BUSY_XML") != NULL) {
		tc = tcase_create("real_migration");
		tcase_add_checked_fixture(tc, mig_setup, mig_teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_real_migrate_there_and_back);
		tcase_add_test(tc, test_real_migrate_stalls_then_aborts);
		tcase_add_test(tc, test_real_migrate_postcopy);
		tcase_add_test(tc, test_real_migrate_free_aborts);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return hm_check_run(libvirt_host_suite());
}
