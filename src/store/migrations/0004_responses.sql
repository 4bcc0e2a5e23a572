CREATE TABLE `response_items` (
	`client` text DEFAULT '' NOT NULL,
	`id` text NOT NULL,
	`response_id` text NOT NULL,
	`ts` integer NOT NULL,
	`item` text NOT NULL,
	PRIMARY KEY(`client`, `id`)
);
--> statement-breakpoint
CREATE INDEX `response_items_response` ON `response_items` (`response_id`);--> statement-breakpoint
CREATE INDEX `response_items_ts` ON `response_items` (`ts`);--> statement-breakpoint
CREATE TABLE `responses` (
	`id` text PRIMARY KEY NOT NULL,
	`client` text DEFAULT '' NOT NULL,
	`ts` integer NOT NULL,
	`previous_id` text,
	`response` text NOT NULL,
	`input` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `responses_ts` ON `responses` (`ts`);