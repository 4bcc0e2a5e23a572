CREATE TABLE `response_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL,
	`entry` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `response_cache_expires` ON `response_cache` (`expires_at`);