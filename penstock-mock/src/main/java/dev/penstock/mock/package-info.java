/** Placeholder. */
package dev.penstock.mock;
