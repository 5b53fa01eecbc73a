/** Placeholder. */
package dev.penstock.server;
