#!/bin/sh
# autogen.sh: generates ./configure and the Makefile.in files in a git
# checkout (release tarballs already contain them). Needs autoconf,
# automake, libtool and pkg-config. Then: ./configure && make && make install
set -e
cd "$(dirname "$0")"
autoreconf --force --install
echo "autogen.sh: now run ./configure && make && sudo make install"
