/** Placeholder. */
package dev.penstock.core;
