/** JMH microbenchmarks of Penstock's hot paths; see {@code scripts/jmh.sh}. */
package dev.penstock.jmh;
