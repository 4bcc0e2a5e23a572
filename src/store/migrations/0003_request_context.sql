ALTER TABLE `requests` ADD `adjusted` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `node` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `cache_hit` integer DEFAULT false NOT NULL;