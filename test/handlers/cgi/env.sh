#!/bin/sh
# Prints the environment it was given and its working directory.
printf 'Content-Type: text/plain\r\n\r\n'
env
printf 'CWD=%s\n' "$(pwd -P)"
