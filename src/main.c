/*
 * main.c: the program's entry. Everything happens in cmd.c, which reads
 * the command line and runs the command (by default the server).
 */
#include <unistd.h>

#include "cmd.h"

extern char **environ;

int
main(int argc, char **argv)
{
	return cmd_main(argc, argv, environ);
}
