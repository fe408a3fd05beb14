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
#include <time.h>

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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hm_check_run(libvirt_host_suite());
}
