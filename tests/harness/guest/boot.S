/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * boot.S - hamon's test guest: a whole "operating system" in one 512-byte
 * boot sector, for the libvirt/QEMU integration tests (hamon-cluster mkvm).
 *
 * SeaBIOS loads it at 0000:7c00 and jumps to it in 16-bit real mode.  On
 * COM1 (0x3f8) it prints
 *
 *     HAMONVM BOOT dirty=<MiB>              once, at every boot
 *     HAMONVM COUNT <n> PASS <p>            about twice a second, n = 1, 2, ..
 *
 * <n> and <p> live in guest RAM, so they travel with a live migration: on
 * the destination the counter goes on where it stopped and no BOOT line
 * appears, while a rebuild (define + start elsewhere) starts with a BOOT
 * line and COUNT 1.  <p> is the number of finished dirtying passes.
 *
 * DIRTY_MB (given at assembly time: as --defsym DIRTY_MB=N, default 0): if
 * non-zero, the guest keeps N MiB of RAM dirty, from 1 MiB up: every pass
 * writes one dword (pass number + 1, never 0, so no page stays a zero
 * page) into each 4 KiB page, as fast as the vCPU goes.  To reach memory
 * above 1 MiB from real mode while the BIOS timer interrupt keeps ticking,
 * it enters "unreal mode": DS is loaded once in protected mode with a flat
 * 4 GiB descriptor, then the CPU goes back to real mode and keeps that
 * segment limit.  Without dirtying the vCPU sleeps in hlt between ticks.
 *
 * Timing is the BIOS tick count at 0040:006c (18.2 Hz timer, in RAM too).
 *
 * Build (hamon-cluster mkvm does it):
 *   as --32 --defsym DIRTY_MB=0 -o boot.o boot.S
 *   ld -m elf_i386 -Ttext 0x7c00 -e _start --oformat binary -o boot.bin boot.o
 */
	.ifndef DIRTY_MB
	.set	DIRTY_MB, 0
	.endif
	.set	COM1, 0x3f8
	.set	COM1_LSR, COM1 + 5
	.set	LSR_THRE, 0x20		/* transmit holding register empty */
	.set	BIOS_TICKS, 0x046c	/* dword, linear address (DS = 0) */
	.set	TICKS_PER_LINE, 9	/* ~0.49 s */
	.set	DIRTY_BASE, 0x100000
	.set	PAGE, 4096

	.code16
	.text
	.globl	_start
_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp		/* the stack grows down below us */
	ljmpw	$0, $go			/* some BIOSes jump to 07c0:0000 */
go:	cld
	movw	$s_boot, %si
	call	puts
	movl	$DIRTY_MB, %eax
	call	putdec
	movw	$s_mib, %si
	call	puts

	.if	DIRTY_MB
	inb	$0x92, %al		/* "fast A20": address line 20 on */
	orb	$0x02, %al
	andb	$0xfe, %al		/* bit 0 would reset the machine */
	outb	%al, $0x92
	lgdtw	gdt_ptr
	movl	%cr0, %eax
	orb	$1, %al			/* PE on ... */
	movl	%eax, %cr0
	jmp	1f
1:	movw	$flat_sel, %bx
	movw	%bx, %ds		/* ... load the 4 GiB limit into DS ... */
	andb	$0xfe, %al
	movl	%eax, %cr0		/* ... PE off: back to real mode */
	jmp	2f
2:	xorw	%bx, %bx
	movw	%bx, %ds		/* base 0 again; the limit stays 4 GiB */
	.endif

	movl	BIOS_TICKS, %eax
	movl	%eax, last_tick
	sti

loop:
	.if	DIRTY_MB
	movl	passes, %eax
	incl	%eax			/* the value written: pass + 1, never 0 */
	movl	$DIRTY_BASE, %edi
3:	movl	%eax, (%edi)		/* gas adds the addr32 prefix */
	addl	$PAGE, %edi
	cmpl	$DIRTY_BASE + DIRTY_MB * 0x100000, %edi
	jb	3b
	movl	%eax, passes
	.else
	hlt				/* until the next timer interrupt */
	.endif
	movl	BIOS_TICKS, %eax
	movl	%eax, %edx
	subl	last_tick, %eax		/* wraps at midnight: still positive */
	cmpl	$TICKS_PER_LINE, %eax
	jb	loop
	movl	%edx, last_tick
	incl	count
	movw	$s_count, %si
	call	puts
	movl	count, %eax
	call	putdec
	movw	$s_pass, %si
	call	puts
	movl	passes, %eax
	call	putdec
	movw	$s_crlf, %si
	call	puts
	jmp	loop

/* puts: write the NUL-terminated string at DS:SI */
puts:	lodsb
	testb	%al, %al
	jz	4f
	call	putc
	jmp	puts
4:	ret

/* putc: write AL to COM1 once the transmitter is free */
putc:	pushw	%dx
	pushw	%ax
	movw	$COM1_LSR, %dx
5:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jz	5b
	popw	%ax
	movw	$COM1, %dx
	outb	%al, %dx
	popw	%dx
	ret

/* putdec: write EAX in decimal (clobbers EAX, ECX, EDX, BX) */
putdec:	movl	$10, %ecx
	xorw	%bx, %bx
6:	xorl	%edx, %edx
	divl	%ecx
	pushw	%dx			/* digits come out lowest first */
	incw	%bx
	testl	%eax, %eax
	jnz	6b
7:	popw	%ax
	addb	$'0', %al
	call	putc
	decw	%bx
	jnz	7b
	ret

count:		.long	0
passes:		.long	0
last_tick:	.long	0

s_boot:		.asciz	"\r\nHAMONVM BOOT dirty="
s_mib:		.asciz	"\r\n"
s_count:	.asciz	"HAMONVM COUNT "
s_pass:		.asciz	" PASS "
s_crlf:		.asciz	"\r\n"

	.if	DIRTY_MB
	.p2align 3
gdt:	.quad	0			/* the null descriptor */
	/* base 0, limit 0xfffff pages (4 GiB), present, ring 0, data RW */
	.quad	0x00cf92000000ffff
	.set	flat_sel, 8
gdt_ptr:
	.word	gdt_ptr - gdt - 1
	.long	gdt
	.endif

	.org	510
	.byte	0x55, 0xaa		/* boot signature */
